package committer_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/ssh"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

// openPGPKey returns an armored private key (encrypted with passphrase when it is not
// empty) and the armored public key of a new entity.
func openPGPKey(t *testing.T, email, passphrase string) (private, public []byte) {
	t.Helper()
	// EdDSA keys generate in milliseconds (RSA can take seconds under -race); gpg 2.2
	// verifies them.
	e, err := openpgp.NewEntity("tagflow", "test", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	must(t, err)
	must(t, e.Serialize(w))
	must(t, w.Close())
	if passphrase != "" {
		must(t, e.EncryptPrivateKeys([]byte(passphrase), nil))
	}
	var priv bytes.Buffer
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	must(t, err)
	must(t, e.SerializePrivateWithoutSigning(w, nil))
	must(t, w.Close())
	return priv.Bytes(), pub.Bytes()
}

// sshKey returns an OpenSSH-format private key and its authorized_keys line.
func sshKey(t *testing.T, key crypto.Signer, passphrase string) (private, authorized []byte) {
	t.Helper()
	var (
		block *pem.Block
		err   error
	)
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "tagflow", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(key, "tagflow")
	}
	must(t, err)
	pub, err := ssh.NewPublicKey(key.Public())
	must(t, err)
	return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(pub)
}

func TestRunOpenPGPSignedCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	pass := randomSecret(t)
	priv, pub := openPGPKey(t, "tagflow@example.com", pass)
	req := f.request("app.yaml", "image", "nginx:7.0.0")
	req.Signing = committer.Signing{OpenPGPKey: priv, Passphrase: pass}
	res := run(t, c, req)

	out, err := testbed.VerifyCommitGPG(t, f.gitDir, res.Commit, pub)
	if err != nil {
		t.Fatalf("git verify-commit: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Good signature") {
		t.Errorf("git verify-commit output lacks a good signature:\n%s", out)
	}
	// The check can fail: another key does not verify the commit.
	_, otherPub := openPGPKey(t, "intruder@example.com", "")
	if out, err := testbed.VerifyCommitGPG(t, f.gitDir, res.Commit, otherPub); err == nil {
		t.Errorf("commit verified with an unrelated key:\n%s", out)
	}
}

func TestRunSSHSignedCommit(t *testing.T) {
	t.Parallel()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	_, other, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)

	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	for i, tc := range []struct {
		name       string
		key        crypto.Signer
		passphrase string
	}{
		{"ed25519", ed, ""},
		{"ed25519 with passphrase", ed, randomSecret(t)},
		{"ecdsa p256", ec, ""},
		{"rsa 2048", rs, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv, authorized := sshKey(t, tc.key, tc.passphrase)
			req := f.request("app.yaml", "image", "nginx:8.0."+string(rune('0'+i)))
			req.Signing = committer.Signing{SSHKey: priv, Passphrase: tc.passphrase}
			res := run(t, c, req)
			out, err := testbed.VerifyCommitSSH(t, f.gitDir, res.Commit, "tagflow@example.com", authorized)
			if err != nil {
				t.Fatalf("git verify-commit: %v\n%s", err, out)
			}
			if !strings.Contains(out, `Good "git" signature`) {
				t.Errorf("git verify-commit output lacks a good signature:\n%s", out)
			}
			_, otherAuthorized := sshKey(t, other, "")
			if out, err := testbed.VerifyCommitSSH(t, f.gitDir, res.Commit, "tagflow@example.com", otherAuthorized); err == nil {
				t.Errorf("commit verified with an unrelated key:\n%s", out)
			}
		})
	}
}

func TestRunRejectsBadSigningKeys(t *testing.T) {
	t.Parallel()
	rs, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	weak, _ := sshKey(t, rs, "")
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	pass := randomSecret(t)
	encrypted, _ := sshKey(t, ed, pass)
	pgp, _ := openPGPKey(t, "tagflow@example.com", pass)

	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	before := f.head(t, testBranch)
	for _, tc := range []struct {
		name    string
		signing committer.Signing
		want    string
	}{
		{"rsa 1024", committer.Signing{SSHKey: weak}, "at least 2048 bits"},
		{"ssh key needs passphrase", committer.Signing{SSHKey: encrypted}, "no passphrase"},
		{"ssh key wrong passphrase", committer.Signing{SSHKey: encrypted, Passphrase: "wrong-" + pass}, "SSH signing key"},
		{"openpgp key needs passphrase", committer.Signing{OpenPGPKey: pgp}, "no passphrase"},
		{"openpgp key wrong passphrase", committer.Signing{OpenPGPKey: pgp, Passphrase: "wrong-" + pass}, "wrong passphrase"},
		{"garbage", committer.Signing{OpenPGPKey: []byte("not a key")}, "OpenPGP signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request("app.yaml", "image", "nginx:9.0.0")
			req.Signing = tc.signing
			_, err := c.Run(t.Context(), req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want one containing %q", err, tc.want)
			}
			assertNoSecret(t, "error", err.Error(), pass)
		})
	}
	if got := f.head(t, testBranch); got != before {
		t.Errorf("remote head moved to %s", got)
	}
}
