package platformtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Default validity of every generated certificate: wide, so tests pick any
// time in between.
func defaultNotBefore() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) }
func defaultNotAfter() time.Time  { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }

// ca is a root and an intermediate under it, both P-256.
type ca struct {
	Root            *x509.Certificate
	RootKey         *ecdsa.PrivateKey
	Intermediate    *x509.Certificate
	IntermediateKey *ecdsa.PrivateKey
}

func newCA(name string) (ca, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ca{}, err
	}
	root, err := CACert(pkix.Name{CommonName: name + " Root"}, &rootKey.PublicKey, nil, rootKey)
	if err != nil {
		return ca{}, err
	}
	intKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ca{}, err
	}
	inter, err := CACert(pkix.Name{CommonName: name + " Intermediate"}, &intKey.PublicKey, root, rootKey)
	if err != nil {
		return ca{}, err
	}
	return ca{Root: root, RootKey: rootKey, Intermediate: inter, IntermediateKey: intKey}, nil
}

// CACert makes a CA certificate for pub, signed by parent's key (self-signed
// when parent is nil), valid 2000-2100.
func CACert(subject pkix.Name, pub *ecdsa.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             defaultNotBefore(),
		NotAfter:              defaultNotAfter(),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("platformtest: CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
}

// leafCert makes an end-entity certificate for pub carrying the extension
// (oid, value), signed by parent's key.
func leafCert(tmpl *x509.Certificate, pub any, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, error) {
	if tmpl.SerialNumber == nil {
		s, err := randomSerial()
		if err != nil {
			return nil, err
		}
		tmpl.SerialNumber = s
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = defaultNotBefore()
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = defaultNotAfter()
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("platformtest: leaf certificate: %w", err)
	}
	return der, nil
}

func rootPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
