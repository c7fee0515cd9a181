package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// slackSender posts to Slack, through an incoming webhook or, with a bot token, the Web
// API's chat.postMessage, with github.com/slack-go/slack. The message is one attachment
// (Slack's "secondary attachments"): colour "good" or "danger", the title (linked to the
// event's Link), the text, the metadata as fields, and the event's time.
type slackSender struct {
	*hookConn
	channel  string
	username string // webhook only: chat.postMessage needs a scope for it
	apiBase  string // with a token, the Web API's base URL; "" for a webhook
}

func (s *slackSender) Send(ctx context.Context, ev Event) error {
	att := slackAttachment(layoutEvent(ev))
	x, cl := s.begin()
	if s.apiBase == "" {
		msg := &slack.WebhookMessage{Channel: s.channel, Username: s.username, Attachments: []slack.Attachment{att}}
		err := slack.PostWebhookCustomHTTPContext(ctx, s.address, cl, msg)
		switch {
		case x.status == 0 && err != nil:
			return s.unreached(err)
		case x.status != 0 && !x.ok():
			return s.refused(x, "")
		}
		// A webhook answers "ok" with 200; slack-go calls another 2xx an error, but the
		// message was taken.
		return nil
	}

	// The chat.postMessage request of slack-go is a form with the token in it; the
	// exchange sends the token as "Authorization: Bearer" too, as Slack prefers.
	api := slack.New(s.bearer, slack.OptionAPIURL(s.apiBase), slack.OptionHTTPClient(cl))
	_, _, err := api.PostMessageContext(ctx, s.channel, slack.MsgOptionAttachments(att))
	switch {
	case err == nil:
		return nil
	case x.status == 0:
		return s.unreached(err)
	case !x.ok():
		return s.refused(x, "")
	}
	// Slack's Web API answers 200 with {"ok": false, "error": "..."} for a failure.
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return s.refusedAs(x, slackErrorStatus(se.Err), "chat.postMessage answered "+strconv.Quote(se.Err))
	}
	return s.refused(x, "unreadable chat.postMessage answer: "+err.Error())
}

// slackErrorStatus is the HTTP status whose meaning a Slack Web API error code has, for
// Retryable and the Dispatcher: 200 (not retryable) for all but the transient codes.
func slackErrorStatus(code string) int {
	switch code {
	case "ratelimited", "rate_limited":
		return http.StatusTooManyRequests
	case "service_unavailable":
		return http.StatusServiceUnavailable
	case "request_timeout":
		return http.StatusRequestTimeout
	case "internal_error", "fatal_error":
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// slackAPIBase returns the Web API's base URL (ending in "/") of a chat.postMessage URL
// or of a base URL.
func slackAPIBase(u *url.URL) string {
	b := *u
	b.RawQuery, b.Fragment = "", ""
	b.Path = strings.TrimSuffix(b.Path, "chat.postMessage")
	b.RawPath = ""
	if !strings.HasSuffix(b.Path, "/") {
		b.Path += "/"
	}
	return b.String()
}

// slackEscaper escapes the three characters Slack's message text reserves for links and
// mentions, as Slack's guide to formatting text asks.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackAttachment lays m out as a Slack attachment.
func slackAttachment(m chatMessage) slack.Attachment {
	color := "good"
	if m.isError {
		color = "danger"
	}
	a := slack.Attachment{
		Color:     color,
		Fallback:  slackEscaper.Replace(m.fallback()),
		Title:     slackEscaper.Replace(m.title),
		TitleLink: m.link,
		Text:      slackEscaper.Replace(m.text),
		Footer:    reportingController,
		Ts:        json.Number(strconv.FormatInt(m.time.Unix(), 10)),
	}
	for _, f := range m.fields {
		a.Fields = append(a.Fields, slack.AttachmentField{
			Title: slackEscaper.Replace(f.key),
			Value: slackEscaper.Replace(f.value),
			Short: utf8.RuneCountInString(f.value) <= 40,
		})
	}
	return a
}
