package redact

import (
	"fmt"
	"strings"
	"testing"
)

// benchSecrets is a configuration's worth of credentials: 100 passwords with their
// user:password.
func benchSecrets() *Secrets {
	var secs []string
	for i := range 100 {
		secs = append(secs, BasicAuth(fmt.Sprintf("user%d", i), fmt.Sprintf("Secret-%04d-value", i))...)
	}
	return New(secs...)
}

// BenchmarkLine redacts a 2 KiB error message (a status message's size).
func BenchmarkLine(b *testing.B) {
	s := benchSecrets()
	msg := strings.Repeat("pushing to https://git.example.com/org/repo.git: denied ", 2048/56)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		s.Line(msg)
	}
}

// BenchmarkString redacts a 60,000-byte pull request body.
func BenchmarkString(b *testing.B) {
	s := benchSecrets()
	body := strings.Repeat("| ghcr.io/acme/web | apps/web | 1.2.3 | 1.2.4 |\n", 60000/48)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		s.String(body)
	}
}

// BenchmarkNew builds the redactor of 100 credentials, as Apply does.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		benchSecrets()
	}
}
