// Package h3test gives tests a node over TLS and HTTP/3: a test
// certificate made on the spot, the options that start a node with it,
// HTTP/3 clients that trust it, and raw HTTP/3 connections on which a test
// stalls request bodies. Only tests import it.
package h3test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
)

// Cert is a self-signed test certificate for 127.0.0.1, ::1 and localhost.
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool
	Leaf              *x509.Certificate
}

// NewCert writes a fresh self-signed certificate and key into dir, named
// cn (the subject common name, which tests use to tell two apart).
func NewCert(t testing.TB, dir, cn string) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	c := &Cert{CertFile: filepath.Join(dir, cn+".crt"), KeyFile: filepath.Join(dir, cn+".key"), Pool: x509.NewCertPool(), Leaf: leaf}
	c.Pool.AddCert(leaf)
	if err := os.WriteFile(c.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// Install copies this certificate over the files of dst (a reload test
// swaps what the daemon's --tls-cert and --tls-key name).
func (c *Cert) Install(t testing.TB, dst *Cert) {
	t.Helper()
	for _, p := range [][2]string{{c.CertFile, dst.CertFile}, {c.KeyFile, dst.KeyFile}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		tmp := p[1] + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TLSOptions edits a node's configuration to serve HTTPS and HTTP/3 with
// c on loopback ports the kernel picks.
func TLSOptions(c *Cert, o testenv.Options) testenv.Options {
	edit := o.Edit
	o.Edit = func(cfg *daemon.Config) {
		cfg.TLSCert, cfg.TLSKey = c.CertFile, c.KeyFile
		cfg.HTTP3Listen = netip.MustParseAddrPort("127.0.0.1:0")
		cfg.TLSListen = netip.MustParseAddrPort("127.0.0.1:0")
		if edit != nil {
			edit(cfg)
		}
	}
	return o
}

// H3Client is an HTTP/3 client (quic-go) trusting pool.
func H3Client(t testing.TB, pool *x509.CertPool) *http.Client {
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// H3Base is the https:// base URL of n's HTTP/3 listener.
func H3Base(n *testenv.Node) string { return "https://" + n.D.HTTP3Addr().String() }

// TLSBase is the https:// base URL of n's HTTPS (TCP) listener.
func TLSBase(n *testenv.Node) string { return "https://" + n.D.TLSAddr().String() }
