package testbed

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TinyproxyBinaryEnv names the environment variable that points at a tinyproxy binary other
// than the one on $PATH.
const TinyproxyBinaryEnv = "TAGFLOW_TINYPROXY"

// TinyproxyBinary finds tinyproxy: $TAGFLOW_TINYPROXY, $PATH or /usr/bin/tinyproxy (Debian's
// tinyproxy-bin package).
func TinyproxyBinary() (string, error) {
	return LookBinary(TinyproxyBinaryEnv, "tinyproxy", "/usr/bin/tinyproxy")
}

// Proxy is a running tinyproxy (Debian's tinyproxy-bin, 1.11): a real HTTP forward proxy on
// a loopback port that serves absolute-URI requests and CONNECT tunnels and logs each
// request to LogPath.
type Proxy struct {
	// URL is the proxy's address, "http://127.0.0.1:PORT", without credentials.
	URL string
	// Host is "127.0.0.1:PORT".
	Host string
	// Username and Password are the credentials the proxy requires (BasicAuth), or empty.
	Username string
	Password string
	// Dir holds the configuration and the logs; ConfigPath is tinyproxy.conf, LogPath the
	// proxy's log file (its LogFile).
	Dir        string
	ConfigPath string
	LogPath    string

	proc *Process
}

type proxyConfig struct {
	user, password string
	connectPorts   []int
}

// ProxyOption configures StartProxy.
type ProxyOption func(*proxyConfig)

// WithProxyAuth makes the proxy require HTTP Basic credentials (Proxy-Authorization) on
// every request and CONNECT; others get 407.
func WithProxyAuth(username, password string) ProxyOption {
	return func(c *proxyConfig) { c.user, c.password = username, password }
}

// WithConnectPorts allows CONNECT to these ports only (tinyproxy's ConnectPort; Debian's
// stock configuration allows 443 and 563). Without it CONNECT goes to any port. A refused
// CONNECT gets 403.
func WithConnectPorts(ports ...int) ProxyOption {
	return func(c *proxyConfig) { c.connectPorts = append(c.connectPorts, ports...) }
}

// StartProxy starts tinyproxy for the test and stops it in t.Cleanup. Without the tinyproxy
// binary the test is skipped, or fails when integration tests are required (see Need).
func StartProxy(t testing.TB, opts ...ProxyOption) *Proxy {
	t.Helper()
	var cfg proxyConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin, err := TinyproxyBinary()
	Need(t, "tinyproxy (Debian package tinyproxy-bin)", err)
	dir := t.TempDir()
	p := &Proxy{
		Username:   cfg.user,
		Password:   cfg.password,
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "tinyproxy.conf"),
		LogPath:    filepath.Join(dir, "tinyproxy.log"),
	}
	// A port found free may be taken before tinyproxy binds it: try a few.
	for range 3 {
		p.Host = "127.0.0.1:" + strconv.Itoa(FreePort(t))
		p.URL = "http://" + p.Host
		if err := os.WriteFile(p.ConfigPath, []byte(tinyproxyConf(p.Host, p.LogPath, cfg)), 0o600); err != nil {
			t.Fatalf("writing tinyproxy config: %v", err)
		}
		p.proc = &Process{
			Name: "tinyproxy",
			Path: bin,
			Args: []string{"-d", "-c", p.ConfigPath}, // -d: stay in the foreground
			Dir:  dir,
			// What tinyproxy prints before it opens LogFile (and if it cannot).
			LogPath: filepath.Join(dir, "tinyproxy.out"),
			Ready:   p.ready,
		}
		err = p.proc.Start()
		if err == nil || !strings.Contains(err.Error(), "listen") {
			break
		}
	}
	proc := p.proc
	t.Cleanup(func() {
		if err := proc.Stop(); err != nil {
			t.Errorf("stopping tinyproxy: %v", err)
		}
		if t.Failed() {
			t.Logf("last lines of the tinyproxy log (%s):\n%s", p.LogPath, p.logTail(40))
		}
	})
	if err != nil {
		t.Fatalf("starting tinyproxy: %v", err)
	}
	return p
}

func tinyproxyConf(addr, logPath string, cfg proxyConfig) string {
	host, port, _ := net.SplitHostPort(addr)
	var b strings.Builder
	fmt.Fprintf(&b, "Port %s\nListen %s\nTimeout 60\nMaxClients 64\nLogLevel Info\nLogFile %q\n", port, host, logPath)
	if cfg.user != "" {
		fmt.Fprintf(&b, "BasicAuth %s %s\n", cfg.user, cfg.password)
	}
	for _, p := range cfg.connectPorts {
		fmt.Fprintf(&b, "ConnectPort %d\n", p)
	}
	return b.String()
}

// ready reports nil once the proxy accepts connections and has opened its log file.
func (p *Proxy) ready(ctx context.Context) error {
	if _, err := os.Stat(p.LogPath); err != nil {
		return err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Host)
	if err != nil {
		return err
	}
	return c.Close()
}

// requestLine is how tinyproxy logs each request it reads:
// "Request (file descriptor 5): GET http://127.0.0.1:5000/v2/ HTTP/1.1".
var requestLine = regexp.MustCompile(`Request \(file descriptor \d+\): (\S+) (\S+) HTTP/`)

// Requests returns the requests the proxy has read so far, as "METHOD TARGET" in order:
// "GET http://127.0.0.1:5000/v2/", "CONNECT 127.0.0.1:5443". Requests it refused for their
// credentials are included.
func (p *Proxy) Requests() []string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if m := requestLine.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, m[1]+" "+m[2])
		}
	}
	return out
}

// Log returns the proxy's log so far.
func (p *Proxy) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func (p *Proxy) logTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return p.proc.LogTail(n)
	}
	return tail(b, n)
}

// Stop stops the proxy (to test an unreachable one); Start starts it again on the same port.
func (p *Proxy) Stop() error { return p.proc.Stop() }

// Start starts a stopped proxy again and waits until it accepts connections.
func (p *Proxy) Start() error { return p.proc.Start() }
