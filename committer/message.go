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
	// Updated is Flux's v1beta1/v1beta2 .Updated: set only for a Request with
	// LegacyTemplateData whose template uses it. A template that uses .Updated is refused
	// (ErrTemplate) unless the Request allows it, or, in RenderMessage, Updated is set.
	Updated *UpdateResult
	Values  map[string]string
}

// updatedField is the template data field of Flux's v1beta1 and v1beta2 only.
const updatedField = "Updated"

// UpdatedHint says what to write instead of .Updated; errors about a template that uses
// .Updated where it is not offered end with it.
const UpdatedHint = "use .Changed instead: .Changed.Changes for .Updated.Images (each change's .NewValue; " +
	".Values maps each policy NAMESPACE:NAME to its whole reference), .Changed.FileChanges for .Updated.Files, " +
	".Changed.Objects for .Updated.Objects"

// messageTemplate is a parsed commit message template.
type messageTemplate struct {
	t *template.Template
	// updated says that the template uses .Updated (and the request allows it).
	updated bool
}

// templateData is what the message template of req sees for the update's result. A nil
// result is a nil .Changed, as it was when Update returned nothing.
func templateData(req *Request, mt messageTemplate, changed *setter.Result) (TemplateData, error) {
	d := TemplateData{AutomationObject: req.Automation, Values: req.Values}
	if changed != nil {
		d.Changed = changed
	}
	if mt.updated {
		u, err := newUpdateResult(changed, req.Images)
		if err != nil {
			return d, fmt.Errorf("automation %s: %s: .Updated: %w: %w", req.Automation, messageField, err, ErrTemplate)
		}
		d.Updated = u
	}
	return d, nil
}

// parseMessageTemplate parses text with sprig's hermetic functions (see internal/tmpl for
// the few left out, and the limits of a render). A template that uses .Updated is refused
// unless legacy (Flux v1beta1/v1beta2 template data) is set.
func parseMessageTemplate(automation AutomationObject, text string, legacy bool) (messageTemplate, error) {
	if strings.TrimSpace(text) == "" {
		text = DefaultMessageTemplate
	}
	t, err := tmpl.Parse("commit message", text, "missingkey=default")
	if err != nil {
		return messageTemplate{}, fmt.Errorf("automation %s: parsing %s: %w: %w", automation, messageField, err, ErrTemplate)
	}
	updated := tmpl.UsesField(t, updatedField)
	if updated && !legacy {
		return messageTemplate{}, fmt.Errorf("automation %s: %s uses .Updated, which only Flux's image.toolkit.fluxcd.io v1beta1 and v1beta2 offer; %s: %w",
			automation, messageField, UpdatedHint, ErrTemplate)
	}
	return messageTemplate{t: t, updated: updated}, nil
}

// renderMessage executes t with data, within tmpl's limits and MaxMessageSize. An empty
// result is an error: git needs a message.
func renderMessage(t messageTemplate, data TemplateData) (string, error) {
	msg, err := tmpl.Execute(t.t, data, messageField, tmpl.Limits{Output: MaxMessageSize})
	if err != nil {
		return "", fmt.Errorf("automation %s: %w: %w", data.AutomationObject, err, ErrTemplate)
	}
	if strings.TrimSpace(msg) == "" {
		return "", fmt.Errorf("automation %s: %s rendered an empty message: %w", data.AutomationObject, messageField, ErrTemplate)
	}
	return msg, nil
}

// RenderMessage renders a commit message template as Run would, for previews such as
// `tagflow plan`. A template that uses .Updated needs data.Updated.
func RenderMessage(text string, data TemplateData) (string, error) {
	t, err := parseMessageTemplate(data.AutomationObject, text, data.Updated != nil)
	if err != nil {
		return "", err
	}
	return renderMessage(t, data)
}
