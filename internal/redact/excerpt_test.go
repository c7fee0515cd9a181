package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestExcerpt: an excerpt is redacted, one line, at most n bytes, cut at a rune boundary.
func TestExcerpt(t *testing.T) {
	s := New("s3cret")
	text := "token s3cret\n" + strings.Repeat("é", 100)
	got := s.Excerpt(text, 40)
	if len(got) > 40 || strings.Contains(got, "s3cret") || strings.Contains(got, "\n") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("Excerpt = %q (%d bytes)", got, len(got))
	}
	if got := s.Excerpt("short s3cret", 40); got != "short "+Marker {
		t.Errorf("Excerpt of a short text = %q", got)
	}
}
