package convert

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// trimNewline drops the line break editors and `echo` leave at the end of a secret file.
func trimNewline(b []byte) string { return strings.TrimRight(string(b), "\r\n") }
