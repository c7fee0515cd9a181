package notify

import (
	"context"
	"time"
	"unicode/utf8"
)

// discordSender posts to a Discord webhook in Discord's own format: one embed with the
// title (linked to the event's Link), the text as its description, the metadata as
// fields, a colour and the event's time, and no mentions allowed.
//
// Flux posts Slack's format to the webhook's "/slack" path instead. That path is a
// compatibility layer Discord barely documents and whose errors come in Slack's terms;
// the native format is documented with its limits (which this Sender keeps), shows the
// time and colour as Discord means them, and its errors (404 Unknown Webhook, 429 with
// Retry-After) are Discord's own.
type discordSender struct {
	*hookConn
	username string
}

// discordMessage is the body of an "execute webhook" request.
type discordMessage struct {
	Username        string                `json:"username,omitempty"`
	Embeds          []discordEmbed        `json:"embeds"`
	AllowedMentions discordAllowedMention `json:"allowed_mentions"`
}

type discordEmbed struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	URL         string         `json:"url,omitempty"`
	Color       int            `json:"color"`
	Fields      []discordField `json:"fields,omitempty"`
	Timestamp   string         `json:"timestamp"`
	Footer      *discordFooter `json:"footer,omitempty"`
}

type discordField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

type discordFooter struct {
	Text string `json:"text"`
}

// discordAllowedMention says whom a message may notify: with Parse empty, no one, whatever
// the text holds (@everyone, <@id>).
type discordAllowedMention struct {
	Parse []string `json:"parse"`
}

// Discord's limits on an embed, in characters.
const (
	discordEmbedTotal = 6000 // title, description, field names and values, footer
	discordFieldValue = 1024
)

// Colours of a Discord embed: green and red.
const (
	discordGood   = 0x2EB67D
	discordDanger = 0xE01E5A
)

func (s *discordSender) Send(ctx context.Context, ev Event) error {
	return s.postJSON(ctx, discordBody(layoutEvent(ev), s.username), nil)
}

// discordBody lays m out as a Discord webhook message.
func discordBody(m chatMessage, username string) discordMessage {
	e := discordEmbed{
		Title:       m.title,
		Description: m.text,
		URL:         m.link,
		Color:       discordGood,
		Timestamp:   m.time.UTC().Format(time.RFC3339),
		Footer:      &discordFooter{Text: reportingController},
	}
	if m.isError {
		e.Color = discordDanger
	}
	left := discordEmbedTotal - utf8.RuneCountInString(e.Title) - utf8.RuneCountInString(e.Description) - len(reportingController)
	for _, f := range m.fields {
		name, value := f.key, cutRunes(f.value, discordFieldValue)
		if name == "" {
			name = "\u200b" // Discord refuses an empty name
		}
		if value == "" {
			value = "\u200b"
		}
		n := utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
		if n > left {
			break
		}
		left -= n
		e.Fields = append(e.Fields, discordField{Name: name, Value: value, Inline: utf8.RuneCountInString(value) <= 40})
	}
	return discordMessage{
		Username:        username,
		Embeds:          []discordEmbed{e},
		AllowedMentions: discordAllowedMention{Parse: []string{}},
	}
}
