package scanner_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// clientCert makes a self-signed client certificate and returns it and its key as PEM.
func clientCert(t *testing.T) (certPEM, keyPEM []byte, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tagflow-test-client"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// tlsRegistry starts the in-process registry over HTTPS, asking for a client certificate
// signed by clientCA when it is not nil, seeds acme/web:1.0 and returns the server's
// address and its CA as PEM.
func tlsRegistry(t *testing.T, clientCA []byte, seedCert *tls.Certificate) (string, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(clientCA)
		srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	tr := srv.Client().Transport.(*http.Transport).Clone()
	if seedCert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*seedCert}
	}
	image := strings.TrimPrefix(srv.URL, "https://") + "/acme/web"
	ref, err := name.NewRepository(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), ref, []string{"1.0"}, remote.WithTransport(tr)); err != nil {
		t.Fatal(err)
	}
	return srv.Listener.Addr().String(), caPEM
}

// dialTo is a base transport that connects to addr whatever the host: the test registries
// then appear as example.com (a name in httptest's certificate), which is not a loopback
// name, so go-containerregistry uses HTTPS only, as for a real remote registry.
func dialTo(addr string) *http.Transport {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return tr
}

func TestTLS(t *testing.T) {
	certPEM, keyPEM, cert := clientCert(t)
	addr, caPEM := tlsRegistry(t, nil, nil)
	mtlsAddr, mtlsCA := tlsRegistry(t, certPEM, &cert)
	const image = "example.com/acme/web"

	for _, tc := range []struct {
		name    string
		mtls    bool
		repo    scanner.Repository
		wantErr string // substring; empty means success
		is      error
	}{
		{name: "CA bundle", repo: scanner.Repository{Image: image, TLS: scanner.TLS{CA: caPEM}}},
		{name: "insecure skips verification", repo: scanner.Repository{Image: image, Insecure: true}},
		{name: "unknown CA", repo: scanner.Repository{Image: image}, wantErr: "listing tags of example.com/acme/web: GET https://example.com/v2/: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "client certificate", mtls: true, repo: scanner.Repository{Image: image, TLS: scanner.TLS{CA: mtlsCA, Cert: certPEM, Key: keyPEM}}},
		{name: "missing client certificate", mtls: true, repo: scanner.Repository{Image: image, TLS: scanner.TLS{CA: mtlsCA}}, wantErr: "remote error: tls: certificate required"}, // net/http may put its read loop's name before it
		{name: "CA bundle without certificates", repo: scanner.Repository{Image: image, TLS: scanner.TLS{CA: []byte("not PEM")}}, wantErr: "the CA bundle holds no PEM certificate", is: scanner.ErrInvalidTLS},
		{name: "certificate without key", repo: scanner.Repository{Image: image, TLS: scanner.TLS{Cert: certPEM}}, wantErr: "a client certificate needs its key", is: scanner.ErrInvalidTLS},
		{name: "key that does not match", repo: scanner.Repository{Image: image, TLS: scanner.TLS{Cert: certPEM, Key: []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")}}, wantErr: "client certificate and key", is: scanner.ErrInvalidTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := addr
			if tc.mtls {
				to = mtlsAddr
			}
			s := fast(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}), scanner.WithTransport(dialTo(to)))
			got, err := s.List(context.Background(), tc.repo)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{"1.0"}, got); diff != "" {
					t.Errorf("List (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("List error %v, want one with %q", err, tc.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "listing tags of "+image+": ") {
				t.Errorf("List error %q does not start by naming the step and the image", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("List error %v is not %v", err, tc.is)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("List error %q shows the key", err)
			}
		})
	}

	t.Run("custom transport", func(t *testing.T) {
		s := scanner.New(scanner.WithTransport(roundTripper(http.DefaultTransport.RoundTrip)))
		_, err := s.List(context.Background(), scanner.Repository{Image: image, TLS: scanner.TLS{CA: caPEM}})
		if !errors.Is(err, scanner.ErrInvalidTLS) {
			t.Errorf("TLS settings with a custom transport: %v, want ErrInvalidTLS", err)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
