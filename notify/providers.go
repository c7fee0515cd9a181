package notify

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tagflow/tagflow/internal/redact"
)

// Provider types: the values of ProviderSpec.Type, named as Flux's notification Provider
// names them.
const (
	TypeSlack       = "slack"
	TypeMSTeams     = "msteams"
	TypeDiscord     = "discord"
	TypeGoogleChat  = "googlechat"
	TypeRocket      = "rocket"
	TypeMattermost  = "mattermost"
	TypeGeneric     = "generic"
	TypeGenericHMAC = "generic-hmac"
)

// SlackAPIURL is the address of Slack's chat.postMessage method: the address of a slack
// provider that has a Token and no Address.
const SlackAPIURL = "https://slack.com/api/chat.postMessage"

// Bounds on what a Sender sends and reads.
const (
	// MaxTextLen is the most characters (runes) of an event's Message and Details sent;
	// longer text is cut and ends in "…".
	MaxTextLen = 3000
	// MaxFields is the most Metadata entries sent. The entries are sorted by key; past the
	// bound, chat formats end in an entry that says how many were left out.
	MaxFields = 20

	maxTitleLen = 250 // characters of a title (Discord allows 256)
	maxKeyLen   = 64  // characters of a Metadata key
	maxValueLen = 500 // characters of a Metadata value

	maxRequestBytes = 256 << 10      // a request body, a safety net the bounds above keep far off
	maxAnswerBytes  = 64 << 10       // what is read of an answer
	maxQuoteBytes   = 256            // what of an error answer is quoted in the error
	maxRetryAfter   = 24 * time.Hour // a longer Retry-After counts as this

	userAgent = "tagflow"
	// reportingController names tagflow in the generic event and in Flux's
	// "gotk-component" header.
	reportingController = "tagflow"
)

// DefaultTimeout bounds one delivery when ProviderSpec.HTTPClient is nil.
const DefaultTimeout = 15 * time.Second

// ProviderSpec says how to reach one service. Its fields are those of Flux's notification
// Provider and of the secret it refers to.
type ProviderSpec struct {
	// Type is one of the Type constants.
	Type string
	// Address is the webhook URL, or for slack with a Token the chat.postMessage URL (or
	// the Web API's base URL, such as https://slack.com/api/); it defaults to SlackAPIURL
	// there and is required everywhere else. It must be an absolute http or https URL.
	// Webhook URLs carry their secret: no error names more of Address than its host.
	Address string
	// Channel is the channel to post to: required for slack with a Token, an override of
	// the webhook's channel for slack, rocket and mattermost, ignored elsewhere.
	Channel string
	// Username overrides the name the message is posted under, where the service allows
	// it: slack (webhook only), discord, rocket and mattermost. Empty: the webhook's own.
	Username string
	// Token is a Slack bot token (xoxb-…): with it, slack posts through the Web API's
	// chat.postMessage instead of an incoming webhook. Other types ignore it; a generic
	// endpoint that wants a credential gets it from Headers, as in Flux.
	Token string
	// Headers are extra HTTP headers of generic and generic-hmac requests (Flux's
	// "headers" secret key); they may replace the default ones. Other types ignore them.
	Headers map[string]string
	// HMACKey signs the body of generic-hmac requests; required there, ignored elsewhere.
	HMACKey []byte
	// HTTPClient sends the requests; the caller sets TLS (Flux's certSecretRef) and the
	// proxy on its transport. Nil: a client with DefaultTimeout and the default transport.
	// Redirects are never followed, whatever its CheckRedirect says: following one would
	// turn the POST into a GET or send the message elsewhere.
	HTTPClient *http.Client
}

// New returns the Sender that spec describes. Its errors wrap ErrInvalid: an unknown type;
// a missing, relative or non-http(s) address; a slack token without a channel; a
// generic-hmac provider without a key; an invalid header.
//
// Every Sender POSTs JSON with "User-Agent: tagflow", reads at most 64 KiB of the answer,
// and bounds what it sends (MaxTextLen, MaxFields). A Sender's errors wrap a
// *DeliveryError (Status 0 when the service was not reached; RetryAfter from a 429 or 503
// answer's Retry-After) and name the provider type and host, never the address, the token
// or a header value. A Sender is safe for concurrent use, and its String method names its
// type and host.
func New(spec ProviderSpec) (Sender, error) {
	typ := spec.Type
	switch typ {
	case TypeSlack, TypeMSTeams, TypeDiscord, TypeGoogleChat, TypeRocket, TypeMattermost, TypeGeneric, TypeGenericHMAC:
	case "":
		return nil, fmt.Errorf("%w: no type", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, cutRunes(typ, 40))
	}
	address := spec.Address
	if typ == TypeSlack && spec.Token != "" {
		if spec.Channel == "" {
			return nil, fmt.Errorf("%w: slack: a token needs a channel", ErrInvalid)
		}
		if address == "" {
			address = SlackAPIURL
		}
	}
	u, err := parseAddress(address)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, typ, err)
	}

	// A webhook's address is its secret: hide it, its query, and the long elements of its
	// path (ids and tokens; words such as "services" stay readable). Slack's Web API's
	// address is no secret.
	var secrets []string
	if typ != TypeSlack || spec.Token == "" {
		secrets = append(secrets, address, u.RawQuery, u.EscapedPath())
		for v := range strings.SplitSeq(u.RawQuery, "&") {
			if _, val, ok := strings.Cut(v, "="); ok {
				plain, _ := url.QueryUnescape(val)
				secrets = append(secrets, val, plain)
			}
		}
		for seg := range strings.SplitSeq(u.Path, "/") {
			if len(seg) >= 16 {
				secrets = append(secrets, seg)
			}
		}
	}
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, redact.BasicAuth(u.User.Username(), p)...)
	}
	c := &hookConn{typ: typ, address: address, host: u.Host, client: spec.HTTPClient}
	if c.client == nil {
		c.client = &http.Client{Timeout: DefaultTimeout}
	}

	switch typ {
	case TypeSlack:
		s := &slackSender{hookConn: c, channel: spec.Channel, username: spec.Username}
		if spec.Token != "" {
			s.hookConn.bearer = spec.Token
			s.apiBase = slackAPIBase(u)
			secrets = append(secrets, spec.Token)
		}
		c.secrets = redact.New(secrets...)
		return s, nil
	case TypeRocket, TypeMattermost:
		c.secrets = redact.New(secrets...)
		return &chatHookSender{hookConn: c, channel: spec.Channel, username: spec.Username}, nil
	case TypeMSTeams:
		c.secrets = redact.New(secrets...)
		return &teamsSender{hookConn: c}, nil
	case TypeDiscord:
		c.secrets = redact.New(secrets...)
		return &discordSender{hookConn: c, username: spec.Username}, nil
	case TypeGoogleChat:
		c.secrets = redact.New(secrets...)
		return &googleChatSender{hookConn: c}, nil
	default: // generic, generic-hmac
		g := &genericSender{hookConn: c, header: http.Header{}}
		for _, name := range slices.Sorted(maps.Keys(spec.Headers)) {
			value := spec.Headers[name]
			if !validHeaderName(name) {
				return nil, fmt.Errorf("%w: %s: header name %q is not a valid HTTP token", ErrInvalid, typ, cutRunes(name, 40))
			}
			if strings.ContainsAny(value, "\r\n\x00") {
				return nil, fmt.Errorf("%w: %s: the value of header %s holds a line break or NUL", ErrInvalid, typ, name)
			}
			g.header.Set(name, value)
			secrets = append(secrets, value)
		}
		if typ == TypeGenericHMAC {
			if len(spec.HMACKey) == 0 {
				return nil, fmt.Errorf("%w: generic-hmac: no HMAC key", ErrInvalid)
			}
			g.key = slices.Clone(spec.HMACKey)
			secrets = append(secrets, string(spec.HMACKey))
		}
		c.secrets = redact.New(secrets...)
		return g, nil
	}
}

// parseAddress checks that address is an absolute http or https URL with a host. Its
// errors never quote the address, which is a secret.
func parseAddress(address string) (*url.URL, error) {
	if address == "" {
		return nil, fmt.Errorf("no address")
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, fmt.Errorf("the address is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the address is not an absolute http or https URL")
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("the address has no host")
	}
	return u, nil
}

// validHeaderName reports whether name is an HTTP field name (RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// chatMessage is an Event laid out for a chat service: bounded, with its metadata sorted.
type chatMessage struct {
	title   string      // "Kind/namespace/name: Reason"
	text    string      // Message, then Details, one a line; at most MaxTextLen characters
	fields  []chatField // sorted by key; the last says how many were left out, past MaxFields
	link    string      // an absolute http(s) URL, or ""
	isError bool
	time    time.Time
}

// chatField is one Metadata entry.
type chatField struct{ key, value string }

// fallback is one line for notifications and clients that cannot show the full format:
// the title and the first line of the text.
func (m chatMessage) fallback() string {
	first, _, _ := strings.Cut(m.text, "\n")
	if strings.TrimSpace(first) == "" {
		return m.title
	}
	return cutRunes(m.title+": "+first, maxTitleLen)
}

// layoutEvent bounds ev for a chat service. A severity other than SeverityError is shown
// as info.
func layoutEvent(ev Event) chatMessage {
	m := chatMessage{
		title:   cutRunes(eventTitle(ev), maxTitleLen),
		isError: ev.Severity == SeverityError,
		link:    safeLink(ev.Link),
		time:    ev.Time,
	}
	if m.time.IsZero() {
		m.time = time.Now()
	}
	m.text = cutRunes(strings.TrimRight(strings.Join(append([]string{ev.Message}, ev.Details...), "\n"), "\n"), MaxTextLen)
	keys := slices.Sorted(maps.Keys(ev.Metadata))
	for i, k := range keys {
		if i == MaxFields-1 && len(keys) > MaxFields {
			m.fields = append(m.fields, chatField{"…", strconv.Itoa(len(keys)-i) + " more"})
			break
		}
		m.fields = append(m.fields, chatField{cutRunes(k, maxKeyLen), cutRunes(ev.Metadata[k], maxValueLen)})
	}
	return m
}

// eventTitle is the object and the reason.
func eventTitle(ev Event) string {
	if ev.Reason == "" {
		return ev.Object()
	}
	return ev.Object() + ": " + ev.Reason
}

// cutRunes returns s cut to at most n characters at a rune boundary, ending in "…" when
// it was cut.
func cutRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

// safeLink returns link when it is an absolute http or https URL, and "" otherwise, so
// that no other scheme (javascript:, file:) becomes a link in a chat.
func safeLink(link string) string {
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return link
}
