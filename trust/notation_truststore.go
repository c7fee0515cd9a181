package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/notaryproject/notation-go/verifier/truststore"
)

// notationCertificate is a trusted certificate and its SHA-256 fingerprint.
type notationCertificate struct {
	cert        *x509.Certificate
	fingerprint [sha256.Size]byte
}

// notationTrustStore is notation-go's truststore.X509TrustStore in memory: every named
// store of type "ca" or "signingAuthority" holds all the certificates, as
// NotationOptions.Certificates documents; there are no "tsa" stores.
type notationTrustStore struct {
	certs []notationCertificate
}

// GetCertificates returns the certificates of a "ca" or "signingAuthority" store, whatever
// its name.
func (s *notationTrustStore) GetCertificates(ctx context.Context, storeType truststore.Type, namedStore string) ([]*x509.Certificate, error) {
	if storeType != truststore.TypeCA && storeType != truststore.TypeSigningAuthority {
		return nil, truststore.TrustStoreError{Msg: fmt.Sprintf("trust store %q of type %q: tagflow has no %s trust stores", namedStore, storeType, storeType)}
	}
	if len(s.certs) == 0 {
		return nil, truststore.CertificateError{Msg: fmt.Sprintf("no x509 certificates in trust store %q of type %q", namedStore, storeType)}
	}
	certs := make([]*x509.Certificate, len(s.certs))
	for i, c := range s.certs {
		certs[i] = c.cert
	}
	return certs, nil
}

// notationParseCertificates parses every file of NotationOptions.Certificates, PEM or DER,
// checks each certificate as notation does for a trust store (a CA, or a self-signed
// signing certificate), and returns them without duplicates, sorted by fingerprint.
func notationParseCertificates(files map[string][]byte) ([]notationCertificate, error) {
	seen := map[[sha256.Size]byte]bool{}
	var all []notationCertificate
	for _, file := range slices.Sorted(maps.Keys(files)) {
		certs, err := notationParseCertificateFile(files[file])
		if err == nil {
			err = truststore.ValidateCertificates(certs)
		}
		if err != nil {
			return nil, fmt.Errorf("notation certificate file %q: %w", file, err)
		}
		for _, c := range certs {
			fp := sha256.Sum256(c.Raw)
			if !seen[fp] {
				seen[fp] = true
				all = append(all, notationCertificate{cert: c, fingerprint: fp})
			}
		}
	}
	slices.SortFunc(all, func(a, b notationCertificate) int { return bytes.Compare(a.fingerprint[:], b.fingerprint[:]) })
	return all, nil
}

// notationParseCertificateFile parses one file: PEM "CERTIFICATE" blocks (text around them
// is ignored), else DER certificates.
func notationParseCertificateFile(data []byte) ([]*x509.Certificate, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor DER certificates: %w", err)
		}
		if len(certs) == 0 {
			return nil, errors.New("no certificate")
		}
		return certs, nil
	}
	var certs []*x509.Certificate
	for ; block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a certificate", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}
