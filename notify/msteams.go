package notify

import (
	"context"
	"strings"
)

// teamsSender posts to a Microsoft Teams workflow (Power Automate's "when a Teams webhook
// request is received") or to an incoming webhook: a message with one Adaptive Card
// attachment, the format both take. The card holds the title, the text (red for an
// error, green otherwise), the metadata as a FactSet and, for the event's Link, an
// Action.OpenUrl. It is Adaptive Card 1.4, the newest version Teams renders everywhere.
type teamsSender struct {
	*hookConn
}

// teamsMessage is the body of the request.
type teamsMessage struct {
	Type        string            `json:"type"` // "message"
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"` // "application/vnd.microsoft.card.adaptive"
	ContentURL  *string      `json:"contentUrl"`  // null: the card is inline
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string            `json:"$schema"`
	Type    string            `json:"type"` // "AdaptiveCard"
	Version string            `json:"version"`
	Body    []adaptiveElement `json:"body"`
	Actions []adaptiveAction  `json:"actions,omitempty"`
	MSTeams adaptiveMSTeams   `json:"msteams"`
}

// adaptiveElement is a TextBlock or a FactSet.
type adaptiveElement struct {
	Type   string         `json:"type"`
	Text   string         `json:"text,omitempty"`
	Size   string         `json:"size,omitempty"`
	Weight string         `json:"weight,omitempty"`
	Color  string         `json:"color,omitempty"`
	Wrap   bool           `json:"wrap,omitempty"`
	Facts  []adaptiveFact `json:"facts,omitempty"`
}

type adaptiveFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type adaptiveAction struct {
	Type  string `json:"type"` // "Action.OpenUrl"
	Title string `json:"title"`
	URL   string `json:"url"`
}

// adaptiveMSTeams holds Teams' own card properties.
type adaptiveMSTeams struct {
	Width string `json:"width,omitempty"`
}

func (s *teamsSender) Send(ctx context.Context, ev Event) error {
	return s.postJSON(ctx, teamsCard(layoutEvent(ev)), nil)
}

// teamsCard lays m out as a Teams message.
func teamsCard(m chatMessage) teamsMessage {
	card := adaptiveCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body: []adaptiveElement{
			{Type: "TextBlock", Text: m.title, Size: "Large", Weight: "Bolder", Wrap: true},
		},
		MSTeams: adaptiveMSTeams{Width: "Full"},
	}
	if m.text != "" {
		color := "Good"
		if m.isError {
			color = "Attention"
		}
		// A TextBlock's markdown takes a blank line to break one.
		text := strings.ReplaceAll(m.text, "\n", "\n\n")
		card.Body = append(card.Body, adaptiveElement{Type: "TextBlock", Text: text, Color: color, Wrap: true})
	}
	if len(m.fields) > 0 {
		facts := make([]adaptiveFact, 0, len(m.fields))
		for _, f := range m.fields {
			facts = append(facts, adaptiveFact{Title: f.key, Value: f.value})
		}
		card.Body = append(card.Body, adaptiveElement{Type: "FactSet", Facts: facts})
	}
	if m.link != "" {
		card.Actions = []adaptiveAction{{Type: "Action.OpenUrl", Title: "Open", URL: m.link}}
	}
	return teamsMessage{
		Type: "message",
		Attachments: []teamsAttachment{{
			ContentType: "application/vnd.microsoft.card.adaptive",
			Content:     card,
		}},
	}
}
