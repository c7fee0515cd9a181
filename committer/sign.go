package committer

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	git "github.com/go-git/go-git/v5"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// sshSignatureNamespace is the namespace git uses for commit and tag signatures.
const sshSignatureNamespace = "git"

// minRSABits is the smallest RSA key accepted for SSH signatures.
const minRSABits = 2048

// newSigner returns the go-git Signer for s, or nil when s asks for no signature.
func newSigner(s Signing) (git.Signer, error) {
	switch {
	case len(s.OpenPGPKey) > 0:
		return newOpenPGPSigner(s.OpenPGPKey, s.Passphrase)
	case len(s.SSHKey) > 0:
		return newSSHSigner(s.SSHKey, s.Passphrase)
	}
	return nil, nil
}

// openPGPSigner makes ASCII-armored detached OpenPGP signatures.
type openPGPSigner struct{ entity *openpgp.Entity }

func newOpenPGPSigner(armored []byte, passphrase string) (*openPGPSigner, error) {
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP signing key: %w: %w", err, ErrInvalidRequest)
	}
	if len(entities) == 0 {
		return nil, fmt.Errorf("reading OpenPGP signing key: no key found: %w", ErrInvalidRequest)
	}
	e := entities[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("reading OpenPGP signing key: the key has no private part: %w", ErrInvalidRequest)
	}
	if e.PrivateKey.Encrypted {
		if passphrase == "" {
			return nil, fmt.Errorf("reading OpenPGP signing key: the key is encrypted and no passphrase was given: %w", ErrInvalidRequest)
		}
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("decrypting OpenPGP signing key: wrong passphrase: %w", ErrInvalidRequest)
		}
	}
	return &openPGPSigner{entity: e}, nil
}

func (s *openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.entity, message, nil); err != nil {
		return nil, fmt.Errorf("signing with OpenPGP key %s: %w", s.entity.PrimaryKey.KeyIdString(), err)
	}
	return b.Bytes(), nil
}

// sshSigner makes armored SSH signatures (the format of ssh-keygen -Y sign -n git).
type sshSigner struct{ signer ssh.Signer }

func newSSHSigner(key []byte, passphrase string) (*sshSigner, error) {
	var (
		signer ssh.Signer
		err    error
	)
	if passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(key, []byte(passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey(key)
	}
	if err != nil {
		return nil, fmt.Errorf("reading SSH signing key: %w: %w", scrubErr(err), ErrInvalidRequest)
	}
	switch t := signer.PublicKey().Type(); t {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	case ssh.KeyAlgoRSA:
		ck, ok := signer.PublicKey().(ssh.CryptoPublicKey)
		if !ok {
			return nil, fmt.Errorf("reading SSH signing key: unreadable RSA key: %w", ErrInvalidRequest)
		}
		rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
		if !ok || rk.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("reading SSH signing key: RSA keys need at least %d bits: %w", minRSABits, ErrInvalidRequest)
		}
	default:
		return nil, fmt.Errorf("reading SSH signing key: unsupported key type %s: %w", t, ErrInvalidRequest)
	}
	return &sshSigner{signer: signer}, nil
}

func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.signer, sshsig.HashSHA512, sshSignatureNamespace)
	if err != nil {
		return nil, fmt.Errorf("signing with SSH key %s: %w", ssh.FingerprintSHA256(s.signer.PublicKey()), err)
	}
	return sshsig.Armor(sig), nil
}

var (
	_ git.Signer = (*openPGPSigner)(nil)
	_ git.Signer = (*sshSigner)(nil)
)
