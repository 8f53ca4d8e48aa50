package open

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/store/etcdstore"
)

// caFile writes a self-signed CA certificate (PEM) and returns its path.
func caFile(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEtcdPasswordOverPlaintextRefused: etcd password authentication
// without TLS to etcd would send the password (and every record) in the
// clear; Open refuses it, naming both ways out, unless the operator says
// --etcd-allow-plaintext-password. With TLS (a CA, or a client
// certificate) the password is fine.
func TestEtcdPasswordOverPlaintextRefused(t *testing.T) {
	ctx := context.Background()
	mk := keyFile(t)
	const url = "etcd://127.0.0.1:1,127.0.0.1:2/attestd"
	const password = "correct-horse-battery"
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := EtcdOptions{Username: "edge", PasswordFile: pw}

	_, _, err := Open(ctx, url, Options{MasterKeyFile: mk, Etcd: auth})
	if !errors.Is(err, ErrPlaintextPassword) || !errors.Is(err, etcdstore.ErrBadOptions) {
		t.Fatalf("password without TLS: %v, want ErrPlaintextPassword", err)
	}
	for _, want := range []string{"--etcd-ca", "--etcd-allow-plaintext-password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), password) {
		t.Fatal("the refusal shows the password")
	}

	allowed := auth
	allowed.AllowPlaintextPassword = true
	withCA := auth
	withCA.CAFile = caFile(t)
	for name, e := range map[string]EtcdOptions{"explicitly allowed": allowed, "over TLS": withCA, "no password": {}} {
		st, _, err := Open(ctx, url, Options{MasterKeyFile: mk, Etcd: e})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		st.Close()
	}
}

// TestEtcdAllowPlaintextPasswordFlag: the setting is a flag of both mains
// (attestd and attestctl register the etcd flags through RegisterFlags),
// off by default.
func TestEtcdAllowPlaintextPasswordFlag(t *testing.T) {
	var e EtcdOptions
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	e.RegisterFlags(fs)
	fl := fs.Lookup("etcd-allow-plaintext-password")
	if fl == nil || fl.DefValue != "false" || !strings.Contains(fl.Usage, "clear") {
		t.Fatalf("flag %+v", fl)
	}
	if err := fs.Parse([]string{"--etcd-allow-plaintext-password"}); err != nil || !e.AllowPlaintextPassword {
		t.Fatalf("parse: %v, %v", err, e.AllowPlaintextPassword)
	}
	if u := fs.Lookup("etcd-password-file").Usage; !strings.Contains(u, "--etcd-allow-plaintext-password") {
		t.Errorf("--etcd-password-file help does not say: %q", u)
	}
}
