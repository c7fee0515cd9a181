package notify

import (
	"context"

	"github.com/slack-go/slack"
)

// chatHookSender posts to a Rocket.Chat or Mattermost incoming webhook, in the
// Slack-compatible format both document for incoming webhooks: "username", "channel" and
// "attachments" with color, title, title_link, text and fields. Colours are hex codes,
// which both take; text is sent as it is, since neither uses Slack's escaping.
type chatHookSender struct {
	*hookConn
	channel  string
	username string
}

// chatHookMessage is the body of a Slack-compatible incoming webhook request.
type chatHookMessage struct {
	Username    string             `json:"username,omitempty"`
	Channel     string             `json:"channel,omitempty"`
	Text        string             `json:"text,omitempty"`
	Attachments []slack.Attachment `json:"attachments"`
}

// Colours of chat attachments and embeds.
const (
	colorGood   = "#2EB67D"
	colorDanger = "#E01E5A"
)

func (s *chatHookSender) Send(ctx context.Context, ev Event) error {
	m := layoutEvent(ev)
	color := colorGood
	if m.isError {
		color = colorDanger
	}
	a := slack.Attachment{
		Color:     color,
		Fallback:  m.fallback(),
		Title:     m.title,
		TitleLink: m.link,
		Text:      m.text,
	}
	for _, f := range m.fields {
		a.Fields = append(a.Fields, slack.AttachmentField{Title: f.key, Value: f.value, Short: len(f.value) <= 40})
	}
	return s.postJSON(ctx, chatHookMessage{Username: s.username, Channel: s.channel, Attachments: []slack.Attachment{a}}, nil)
}
