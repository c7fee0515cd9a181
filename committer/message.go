package committer

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/tagflow/tagflow/internal/tmpl"
	"github.com/tagflow/tagflow/setter"
)

// DefaultMessageTemplate is the commit message used when a Request has none.
const DefaultMessageTemplate = `Update from image update automation{{ with .AutomationObject.Name }} {{ . }}{{ end }}`

// MaxMessageSize is the longest commit message a template may render: a longer one is an
// error (ErrTemplate), and nothing is committed.
const MaxMessageSize = tmpl.DefaultOutput

// messageField names the commit message template in errors, by its field in the API.
const messageField = "spec.git.commit.messageTemplate"

// TemplateData is what a commit message template sees. The field names are Flux's, so
// templates written for Flux's ImageUpdateAutomation keep working.
type TemplateData struct {
	AutomationObject AutomationObject
	// Changed is the update's result: in a Run or Plan, the *setter.Result Update returned
	// (nil when it returned none); RenderMessage takes any value.
	Changed any
	Values  map[string]string
}

// templateData is what the message template of req sees for the update's result. A nil
// result is a nil .Changed, as it was when Update returned nothing.
func templateData(req *Request, changed *setter.Result) TemplateData {
	d := TemplateData{AutomationObject: req.Automation, Values: req.Values}
	if changed != nil {
		d.Changed = changed
	}
	return d
}

// parseMessageTemplate parses text with sprig's hermetic functions (see internal/tmpl for
// the few left out, and the limits of a render).
func parseMessageTemplate(automation AutomationObject, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		text = DefaultMessageTemplate
	}
	t, err := tmpl.Parse("commit message", text, "missingkey=default")
	if err != nil {
		return nil, fmt.Errorf("automation %s: parsing %s: %w: %w", automation, messageField, err, ErrTemplate)
	}
	return t, nil
}

// renderMessage executes t with data, within tmpl's limits and MaxMessageSize. An empty
// result is an error: git needs a message.
func renderMessage(t *template.Template, data TemplateData) (string, error) {
	msg, err := tmpl.Execute(t, data, messageField, tmpl.Limits{Output: MaxMessageSize})
	if err != nil {
		return "", fmt.Errorf("automation %s: %w: %w", data.AutomationObject, err, ErrTemplate)
	}
	if strings.TrimSpace(msg) == "" {
		return "", fmt.Errorf("automation %s: %s rendered an empty message: %w", data.AutomationObject, messageField, ErrTemplate)
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
