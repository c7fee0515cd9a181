package committer

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// DefaultMessageTemplate is the commit message used when a Request has none.
const DefaultMessageTemplate = `Update from image update automation{{ with .AutomationObject.Name }} {{ . }}{{ end }}`

// TemplateData is what a commit message template sees. The field names are Flux's, so
// templates written for Flux's ImageUpdateAutomation keep working.
type TemplateData struct {
	AutomationObject AutomationObject
	Changed          any
	Values           map[string]string
}

// parseMessageTemplate parses text with sprig's hermetic function map.
func parseMessageTemplate(automation AutomationObject, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		text = DefaultMessageTemplate
	}
	t, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Option("missingkey=default").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("automation %s: parsing commit message template: %w: %w", automation, err, ErrTemplate)
	}
	return t, nil
}

// renderMessage executes t with data. An empty result is an error: git needs a message.
func renderMessage(t *template.Template, data TemplateData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("automation %s: executing commit message template: %w: %w", data.AutomationObject, err, ErrTemplate)
	}
	msg := b.String()
	if strings.TrimSpace(msg) == "" {
		return "", fmt.Errorf("automation %s: commit message template rendered an empty message: %w", data.AutomationObject, ErrTemplate)
	}
	return msg, nil
}

// RenderMessage renders a commit message template as Run would, for previews such as
// `tagflow plan`.
func RenderMessage(text string, data TemplateData) (string, error) {
	t, err := parseMessageTemplate(data.AutomationObject, text)
	if err != nil {
		return "", err
	}
	return renderMessage(t, data)
}
