package platformtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// CertSpec describes a certificate for tests of hostile chains: any subject
// key (including keys no verifier should accept and keys nobody holds the
// private half of), any signature algorithm, dates, basic constraints,
// padding, and a signature value replaced after signing.
type CertSpec struct {
	Subject string
	// Key is the subject public key: an *rsa.PublicKey of any size and
	// exponent (RandomRSAKey), an *ecdsa.PublicKey on any curve crypto/x509
	// names, or an ed25519.PublicKey.
	Key any
	// Issuer gives the issuer name; nil: the certificate names itself.
	Issuer *x509.Certificate
	// Signer signs the certificate: the issuer's key, or any other key to
	// forge. SignatureAlgorithm must fit it (0: crypto/x509's default).
	Signer             crypto.Signer
	SignatureAlgorithm x509.SignatureAlgorithm
	// Validity; zero values mean 2000-01-01 and 2100-01-01.
	NotBefore, NotAfter time.Time
	// CA puts basic constraints with cA true, NotCA with cA false; neither
	// leaves basic constraints out.
	CA, NotCA bool
	// PadTo, when above the natural size, grows the certificate with a
	// non-critical private extension to at most PadTo bytes and no fewer
	// than PadTo-16.
	PadTo int
	// Signature, when not nil, replaces the signature value after signing:
	// a bogus signature of any length.
	Signature []byte
}

// padOID is the extension that carries padding, under IANA's enterprise
// number for examples (RFC 5612).
func padOID() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1} }

// DER builds the certificate.
func (s CertSpec) DER() ([]byte, error) {
	der, err := s.build(-1)
	if err != nil || s.PadTo <= len(der) {
		return der, err
	}
	// The padding extension's header grows with its length and an ECDSA
	// signature's length varies by a few bytes: aim a little low and adjust.
	const slack = 16
	pad := s.PadTo - len(der) - slack
	for range 8 {
		if der, err = s.build(max(pad, 0)); err != nil {
			return nil, err
		}
		if len(der) <= s.PadTo && len(der) > s.PadTo-slack {
			return der, nil
		}
		pad += s.PadTo - slack/2 - len(der)
	}
	return nil, fmt.Errorf("platformtest: cannot pad to %d bytes (got %d)", s.PadTo, len(der))
}

// build makes the certificate with pad bytes of padding (none when < 0).
func (s CertSpec) build(pad int) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: s.Subject},
		NotBefore:          s.NotBefore,
		NotAfter:           s.NotAfter,
		SignatureAlgorithm: s.SignatureAlgorithm,
		KeyUsage:           x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = defaultNotBefore()
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = defaultNotAfter()
	}
	if s.CA || s.NotCA {
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, s.CA
	}
	if s.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if pad >= 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: padOID(), Value: bytes.Repeat([]byte("A"), pad)}}
	}
	// Only the issuer's names go in: crypto/x509 would refuse a Signer
	// that is not the issuer's key, and forging is the point.
	issuer := tmpl
	if s.Issuer != nil {
		issuer = &x509.Certificate{Subject: s.Issuer.Subject, RawSubject: s.Issuer.RawSubject, SubjectKeyId: s.Issuer.SubjectKeyId}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, s.Key, s.Signer)
	if err != nil {
		return nil, fmt.Errorf("platformtest: certificate %q: %w", s.Subject, err)
	}
	if s.Signature != nil {
		return ReplaceSignature(der, s.Signature)
	}
	return der, nil
}

// ReplaceSignature returns der with its signature value replaced by sig,
// the signed part and the signature algorithm unchanged.
func ReplaceSignature(der, sig []byte) ([]byte, error) {
	var c struct {
		TBS       asn1.RawValue
		Algorithm asn1.RawValue
		Signature asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &c); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("platformtest: not a certificate: %v", err)
	}
	c.Signature = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	return asn1.Marshal(c)
}

// RandomRSAKey returns an RSA public key with a random odd modulus of
// exactly bits bits and exponent e: a key nobody holds the private half of,
// which costs a verifier what its size and exponent say if it uses it.
func RandomRSAKey(bits, e int) (*rsa.PublicKey, error) {
	b := make([]byte, (bits+7)/8)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if extra := len(b)*8 - bits; extra > 0 {
		b[0] &= 0xff >> extra
	}
	b[0] |= 0x80 >> ((len(b)*8 - bits) % 8)
	b[len(b)-1] |= 1
	return &rsa.PublicKey{N: new(big.Int).SetBytes(b), E: e}, nil
}

// RandomBytes returns n random bytes (a bogus signature value).
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
