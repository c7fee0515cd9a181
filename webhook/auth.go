package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Authenticate checks that a request to the receiver's path carries the receiver's
// signature or token, as its Type prescribes; the path itself was already matched. It
// returns an error wrapping ErrUnauthorized that says what is missing or wrong, never the
// token. Secrets are compared in constant time.
func Authenticate(r Receiver, h http.Header, body []byte) error {
	switch r.Type {
	case GitHub:
		return checkHMAC(h, "X-Hub-Signature-256", r.Token, body)
	case GitLab:
		return checkToken(h, "X-Gitlab-Token", r.Token, false)
	case Harbor, Distribution:
		return checkToken(h, "Authorization", r.Token, true)
	case CloudEvents:
		if h.Get("X-Signature-256") != "" {
			return checkHMAC(h, "X-Signature-256", r.Token, body)
		}
		if h.Get("Authorization") == "" {
			return fmt.Errorf("%w: neither an Authorization nor an X-Signature-256 header", ErrUnauthorized)
		}
		return checkToken(h, "Authorization", r.Token, true)
	case DockerHub, Quay:
		return nil // the secret path is the credential
	}
	return fmt.Errorf("%w: unknown receiver type %q", ErrUnauthorized, r.Type)
}

// authenticateHeader is the part of Authenticate that needs no body, run before the body
// is read: it checks a token completely, and that a signature header is present and well
// formed (Authenticate verifies it against the body). A nil error means the body is worth
// reading, not that the request is authentic.
func authenticateHeader(r Receiver, h http.Header) error {
	switch r.Type {
	case GitHub:
		return checkSignatureForm(h, "X-Hub-Signature-256")
	case CloudEvents:
		if h.Get("X-Signature-256") != "" {
			return checkSignatureForm(h, "X-Signature-256")
		}
	}
	return Authenticate(r, h, nil) // the other types' credentials are all in the headers
}

// checkSignatureForm checks that header holds "sha256=" and 64 hex digits.
func checkSignatureForm(h http.Header, header string) error {
	_, err := signature(h, header)
	return err
}

// signature decodes header's "sha256=HEX".
func signature(h http.Header, header string) ([]byte, error) {
	v := h.Get(header)
	if v == "" {
		return nil, fmt.Errorf("%w: no %s header", ErrUnauthorized, header)
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return nil, fmt.Errorf("%w: %s is not sha256=HEX", ErrUnauthorized, header)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("%w: %s is not sha256=HEX", ErrUnauthorized, header)
	}
	return got, nil
}

// checkHMAC verifies header = "sha256=" + hex(HMAC-SHA256(token, body)).
func checkHMAC(h http.Header, header, token string, body []byte) error {
	got, err := signature(h, header)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", ErrUnauthorized, header)
	}
	return nil
}

// checkToken verifies that header holds token, or "Bearer " + token when bearer is true.
func checkToken(h http.Header, header, token string, bearer bool) error {
	v := h.Get(header)
	if v == "" {
		return fmt.Errorf("%w: no %s header", ErrUnauthorized, header)
	}
	if bearer {
		if rest, ok := cutPrefixFold(v, "Bearer "); ok {
			v = strings.TrimSpace(rest)
		}
	}
	if subtle.ConstantTimeCompare([]byte(v), []byte(token)) != 1 {
		return fmt.Errorf("%w: wrong %s", ErrUnauthorized, header)
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Sign returns the "sha256=HEX" HMAC-SHA256 signature of body with token, as GitHub sends in
// X-Hub-Signature-256 and a CloudEvents sender in X-Signature-256.
func Sign(token string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
