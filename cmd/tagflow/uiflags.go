package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// uiOptions are the status page's flags, the same for run and controller.
type uiOptions struct {
	addr      string
	tokenFile string
}

func (o *uiOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.addr, "ui-addr", "", "serve the read-only status page and its JSON API on this address, e.g. 127.0.0.1:9494 (empty: off)")
	f.StringVar(&o.tokenFile, "ui-token-file", "", "require this file's token of the status page's requests (Authorization: Bearer, or open the page once with ?token=)")
}

// maxTokenFile bounds the token file read.
const maxTokenFile = 4 << 10

// token reads the token file: "" without one; an error when it cannot be read, is empty,
// or is not one line.
func (o *uiOptions) token() (string, error) {
	if o.tokenFile == "" {
		return "", nil
	}
	if o.addr == "" {
		return "", usagef("--ui-token-file needs --ui-addr")
	}
	f, err := os.Open(o.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--ui-token-file: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxTokenFile+1)
	n, _ := f.Read(buf)
	if n > maxTokenFile {
		return "", fmt.Errorf("--ui-token-file %s: longer than %d bytes", o.tokenFile, maxTokenFile)
	}
	tok := strings.TrimSpace(string(buf[:n]))
	switch {
	case tok == "":
		return "", fmt.Errorf("--ui-token-file %s: empty", o.tokenFile)
	case strings.ContainsAny(tok, "\r\n\t ") || strings.ContainsFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("--ui-token-file %s: the token must be one word on one line", o.tokenFile)
	}
	return tok, nil
}
