package notify

import (
	"context"
	"html"
	"strings"
)

// googleChatSender posts to a Google Chat space's incoming webhook: a message with one
// cardsV2 card (the title in the header; a section with the text, red for an error and
// green otherwise; one with the metadata as decoratedText widgets; one with a button to
// the event's Link) and a fallbackText for notifications. Card text is Google Chat's HTML
// subset, so the event's text is escaped.
type googleChatSender struct {
	*hookConn
}

// googleChatMessage is the body of a spaces.messages.create request.
type googleChatMessage struct {
	FallbackText string           `json:"fallbackText,omitempty"`
	CardsV2      []googleChatCard `json:"cardsV2"`
}

type googleChatCard struct {
	CardID string           `json:"cardId"`
	Card   googleChatCardV2 `json:"card"`
}

type googleChatCardV2 struct {
	Header   googleChatHeader    `json:"header"`
	Sections []googleChatSection `json:"sections"`
}

type googleChatHeader struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
}

type googleChatSection struct {
	Widgets []googleChatWidget `json:"widgets"`
}

// googleChatWidget is one of a textParagraph, a decoratedText and a buttonList.
type googleChatWidget struct {
	TextParagraph *googleChatText       `json:"textParagraph,omitempty"`
	DecoratedText *googleChatDecorated  `json:"decoratedText,omitempty"`
	ButtonList    *googleChatButtonList `json:"buttonList,omitempty"`
}

type googleChatText struct {
	Text string `json:"text"`
}

type googleChatDecorated struct {
	TopLabel string `json:"topLabel"`
	Text     string `json:"text"`
	WrapText bool   `json:"wrapText"`
}

type googleChatButtonList struct {
	Buttons []googleChatButton `json:"buttons"`
}

type googleChatButton struct {
	Text    string            `json:"text"`
	OnClick googleChatOnClick `json:"onClick"`
}

type googleChatOnClick struct {
	OpenLink googleChatOpenLink `json:"openLink"`
}

type googleChatOpenLink struct {
	URL string `json:"url"`
}

func (s *googleChatSender) Send(ctx context.Context, ev Event) error {
	return s.postJSON(ctx, googleChatBody(layoutEvent(ev)), nil)
}

// googleChatBody lays m out as a Google Chat message.
func googleChatBody(m chatMessage) googleChatMessage {
	card := googleChatCardV2{Header: googleChatHeader{Title: m.title, Subtitle: reportingController}}
	if m.text != "" {
		color := "#188038"
		if m.isError {
			color = "#d93025"
		}
		text := `<font color="` + color + `">` + strings.ReplaceAll(html.EscapeString(m.text), "\n", "<br>") + `</font>`
		card.Sections = append(card.Sections, googleChatSection{Widgets: []googleChatWidget{{TextParagraph: &googleChatText{Text: text}}}})
	}
	if len(m.fields) > 0 {
		var widgets []googleChatWidget
		for _, f := range m.fields {
			widgets = append(widgets, googleChatWidget{DecoratedText: &googleChatDecorated{TopLabel: f.key, Text: html.EscapeString(f.value), WrapText: true}})
		}
		card.Sections = append(card.Sections, googleChatSection{Widgets: widgets})
	}
	if m.link != "" {
		card.Sections = append(card.Sections, googleChatSection{Widgets: []googleChatWidget{{ButtonList: &googleChatButtonList{
			Buttons: []googleChatButton{{Text: "Open", OnClick: googleChatOnClick{OpenLink: googleChatOpenLink{URL: m.link}}}},
		}}}})
	}
	return googleChatMessage{
		FallbackText: m.fallback(),
		CardsV2:      []googleChatCard{{CardID: reportingController, Card: card}},
	}
}
