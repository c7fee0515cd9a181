package automation

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/scanner"
)

// TestConfigSecretsHoldTheProxyPassword: a repository's proxy password (given as such or
// in the proxy URL) is one of the configuration's secrets.
func TestConfigSecretsHoldTheProxyPassword(t *testing.T) {
	const pass, urlPass = "proxy-Pass-0011", "proxy-URL-Pass-0012"
	red := configSecrets(Config{Repositories: []Repository{
		{ID: ObjectID{KindRepository, "apps", "p"}, Scan: scanner.Repository{Image: "reg.example.com/p",
			Proxy: scanner.Proxy{URL: "http://proxy.example:3128", Username: "egress", Password: pass}}},
		{ID: ObjectID{KindRepository, "apps", "q"}, Scan: scanner.Repository{Image: "reg.example.com/q",
			Proxy: scanner.Proxy{URL: "http://egress:" + urlPass + "@proxy.example:3128"}}},
	}})
	for _, sec := range []string{pass, "egress:" + pass, urlPass, "egress:" + urlPass} {
		msg := red.Line("proxy said: " + sec + " " + base64.StdEncoding.EncodeToString([]byte(sec)))
		if strings.Contains(msg, sec) || strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte(sec))) || !strings.Contains(msg, "REDACTED") {
			t.Errorf("redacted message %q still holds %q", msg, sec)
		}
	}
}
