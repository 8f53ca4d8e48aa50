package x509chain

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"time"
)

// Bounds checked before any certificate is parsed.
const (
	// MaxCerts is the largest number of certificates a chain may hold: a
	// remotely provisioned Android chain has five, App Attest's x5c two.
	MaxCerts = 8
	// MaxCertSize is the largest DER certificate accepted, in bytes. Real
	// attestation certificates are under 2 KiB. Parsing is linear in the
	// size (a 16 KiB certificate with a 130,000-bit RSA modulus parses in
	// about twice the time of a P-256 one); what a key costs to use is
	// bounded by CheckAlgorithms, not by this size.
	MaxCertSize = 16 << 10
	// MaxChainSize is the largest total of a chain's DER certificates, in
	// bytes. The largest real chains are under 4 KiB: a remotely
	// provisioned Android chain of five certificates is 3.9 KiB (the
	// largest, Google's RSA-4096 root, 1.3 KiB; a leaf with device ID
	// attestation 0.8 KiB), a Keymaster 4 chain of four 3.9 KiB, App
	// Attest's x5c of two 1.3 KiB (TestRealChainsWellUnderMaxChainSize).
	// A chain six times that size still passes; one larger, which only an
	// attacker sends, is refused before it is decoded (verify/platform
	// checks it on the base64 lengths) or parsed: what a chain costs to
	// decode and parse grows with its size, and 46 KiB of certificates,
	// as much as an attest request holds, cost 1.4 times a genuine
	// enrolment.
	MaxChainSize = 24 << 10
)

// Parse checks the bounds (1 to MaxCerts certificates of at most MaxCertSize
// bytes each, MaxChainSize in all) and then parses each DER certificate,
// leaf first. It checks no key and no signature. The certificates returned
// keep references to ders; the caller must not modify them while the
// certificates are in use. VerifyDER parses only what its verdict needs.
func Parse(ders [][]byte) ([]*x509.Certificate, error) {
	if err := checkBounds(ders); err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, i, err)
		}
		certs[i] = c
	}
	return certs, nil
}

// checkBounds checks 1 to MaxCerts certificates of 1 to MaxCertSize bytes
// each, MaxChainSize in all.
func checkBounds(ders [][]byte) error {
	if len(ders) == 0 {
		return fmt.Errorf("%w: no certificates", ErrMalformed)
	}
	if len(ders) > MaxCerts {
		return fmt.Errorf("%w: %d certificates, at most %d", ErrMalformed, len(ders), MaxCerts)
	}
	total := 0
	for i, d := range ders {
		if len(d) == 0 || len(d) > MaxCertSize {
			return fmt.Errorf("%w: certificate %d is %d bytes, at most %d", ErrMalformed, i, len(d), MaxCertSize)
		}
		total += len(d)
	}
	if total > MaxChainSize {
		return fmt.Errorf("%w: %d certificates of %d bytes in all, at most %d", ErrMalformed, len(ders), total, MaxChainSize)
	}
	return nil
}

// VerifyDER is Parse and Verify in one, parsing no certificate the
// verdict does not read: the bounds; every certificate's key and signature
// algorithm on the allow-list, read from its DER without parsing it
// (preread, which answers as CheckAlgorithms does), and every root's;
// then the anchor, the signatures from the anchor towards the leaf and the
// dates, as Verify does, with each certificate's signature checked on the
// bytes it covers before that certificate is parsed (and its algorithms
// checked again, parsed), and a last certificate whose public key is a
// root's, byte for byte, not parsed until the chain has passed. So a
// chain refused at its anchor or at a signature costs the parse of the
// certificates the walk trusted before, not of the one refused nor of
// the ones after it. On success it returns the certificates, parsed, leaf
// first; they keep references to ders. A certificate that does not parse
// is ErrMalformed when the walk reaches it.
func VerifyDER(ders [][]byte, roots []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	return verifyDER(ders, roots, now, checkSignedBy)
}

func verifyDER(ders [][]byte, roots []*x509.Certificate, now time.Time, check sigCheck) ([]*x509.Certificate, error) {
	if err := checkBounds(ders); err != nil {
		return nil, err
	}
	src := derSource{ders: ders, raw: make([]rawCert, len(ders)), certs: make([]*x509.Certificate, len(ders))}
	for i, d := range ders {
		var err error
		if src.raw[i], err = preread(d); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
	}
	if err := walk(&src, roots, now, check); err != nil {
		return nil, err
	}
	for i := range src.certs {
		if _, err := src.cert(i); err != nil { // the anchor, when it was skipped
			return nil, err
		}
	}
	return src.certs, nil
}

// source is a chain as walk reads it: cheaply, a certificate's public key
// and what its signature covers; parsed, only when the walk needs it.
type source interface {
	len() int
	// spki is certificate i's SubjectPublicKeyInfo, whole.
	spki(i int) []byte
	// signed is what certificate i's signature covers; ok is false when
	// it can only be read from the parsed certificate.
	signed(i int) (s signedPart, ok bool)
	// cert is certificate i parsed, with its algorithms on the allow-list.
	cert(i int) (*x509.Certificate, error)
}

// derSource is a chain of DER certificates, each parsed when first asked.
type derSource struct {
	ders  [][]byte
	raw   []rawCert
	certs []*x509.Certificate
}

func (s *derSource) len() int          { return len(s.ders) }
func (s *derSource) spki(i int) []byte { return s.raw[i].spki }
func (s *derSource) signed(i int) (signedPart, bool) {
	return s.raw[i].signed, s.raw[i].signed.tbs != nil
}
func (s *derSource) cert(i int) (*x509.Certificate, error) {
	if s.certs[i] != nil {
		return s.certs[i], nil
	}
	c, err := x509.ParseCertificate(s.ders[i])
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, i, err)
	}
	if err := CheckAlgorithms(c); err != nil {
		return nil, fmt.Errorf("certificate %d: %w", i, err)
	}
	s.certs[i] = c
	return c, nil
}

// parsedSource is a chain already parsed (and its algorithms checked).
type parsedSource []*x509.Certificate

func (s parsedSource) len() int                              { return len(s) }
func (s parsedSource) spki(i int) []byte                     { return s[i].RawSubjectPublicKeyInfo }
func (s parsedSource) signed(i int) (signedPart, bool)       { return signedOf(s[i]), true }
func (s parsedSource) cert(i int) (*x509.Certificate, error) { return s[i], nil }

// Verify checks chain (leaf first) as PROTOCOL.md §7 asks, from a configured
// root down, so that no key taken from the chain is used before it is
// trusted. In this order, the first failure answering:
//
//  1. 1 to MaxCerts certificates (ErrMalformed).
//  2. Every certificate of chain and every root passes CheckAlgorithms
//     (ErrKey). No signature has been checked yet.
//  3. The anchor (ErrRoot): when the last certificate has the public key of
//     a root, it stands for that root and is not checked further, whatever
//     its dates or extensions; it must then not be the leaf (a chain of a
//     root alone would make a leaf nobody signed). Otherwise one root's key must verify the
//     last certificate's signature; each distinct root key is tried once.
//  4. From the anchor towards the leaf, each certificate is verified with
//     the key of the one after it (ErrSignature). Issuer and subject names
//     are not compared (a real StrongBox chain names the wrong issuer). A
//     certificate, or root, that signs another must not say it is not a CA
//     (basic constraints present with cA false).
//  5. Every certificate between the anchor and the leaf is within its
//     validity at now, NotBefore <= now <= NotAfter (ErrValidity). The
//     leaf's dates are not checked (Android sets them on the device; the
//     challenge proves freshness), nor are a root's: a root is trusted by
//     its key while it is configured.
//
// So at most len(chain)-1 signatures, plus one per distinct root key when
// the chain is not anchored by key, are checked, each with an allowed key.
// Chain and roots are only read; nil roots are skipped.
func Verify(chain, roots []*x509.Certificate, now time.Time) error {
	return verify(chain, roots, now, checkSignedBy)
}

// sigCheck verifies that signer's key made the signature of s.
type sigCheck func(signer *x509.Certificate, s signedPart) error

// verify is Verify with the signature check given, so that tests count
// the signatures checked.
func verify(chain, roots []*x509.Certificate, now time.Time, check sigCheck) error {
	if len(chain) == 0 || len(chain) > MaxCerts {
		return fmt.Errorf("%w: %d certificates, 1 to %d", ErrMalformed, len(chain), MaxCerts)
	}
	for i, c := range chain {
		if err := CheckAlgorithms(c); err != nil {
			return fmt.Errorf("certificate %d: %w", i, err)
		}
	}
	return walk(parsedSource(chain), roots, now, check)
}

// walk is Verify's steps 2 (for the roots) to 5 on a chain whose every
// key and signature algorithm passed the allow-list, reading each
// certificate's signature before parsing it.
func walk(src source, roots []*x509.Certificate, now time.Time, check sigCheck) error {
	for i, r := range roots {
		if r == nil {
			continue
		}
		if err := CheckAlgorithms(r); err != nil {
			return fmt.Errorf("configured root %d (%s): %w", i, r.Subject, err)
		}
	}
	last := src.len() - 1
	root, err := anchor(src, last, roots, check)
	if err != nil {
		return err
	}
	if root != nil && last == 0 {
		// A leaf with a root's key stands for the root, unchecked: its
		// extensions and dates would be whatever the sender wrote.
		return fmt.Errorf("%w: the leaf has a configured root's key: a chain must have a leaf signed under its anchor", ErrRoot)
	}
	// top is the trusted certificate whose key checks the one before it:
	// the root the last certificate stands for, or the last certificate
	// once a root's key verified it; it is then between the anchor and
	// the leaf, and its dates are checked (end is one past the last dated
	// index).
	got := make([]*x509.Certificate, src.len())
	top, end := root, last
	if root == nil {
		if top, err = src.cert(last); err != nil {
			return err
		}
		got[last], end = top, last+1
	}
	for i := last - 1; i >= 0; i-- {
		if got[i], err = signedBy(src, i, top, check); err != nil {
			return err
		}
		top = got[i]
	}
	for i := 1; i < end; i++ {
		if c := got[i]; now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return fmt.Errorf("%w: certificate %d valid %s to %s, checked at %s", ErrValidity, i,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// signedBy checks that top signed certificate i, on the bytes its
// signature covers when src has them, and only then parses it.
func signedBy(src source, i int, top *x509.Certificate, check sigCheck) (*x509.Certificate, error) {
	s, ok := src.signed(i)
	if !ok {
		c, err := src.cert(i)
		if err != nil {
			return nil, err
		}
		s = signedOf(c)
	}
	if err := signs(top, s, check); err != nil {
		return nil, fmt.Errorf("%w: certificate %d by the one after it: %w", ErrSignature, i, err)
	}
	return src.cert(i)
}

// anchor returns the root whose key the last certificate has (nil, nil
// when a root's key verified its signature instead), or an error wrapping
// ErrRoot. A key that is a root's byte for byte needs no parse.
func anchor(src source, last int, roots []*x509.Certificate, check sigCheck) (*x509.Certificate, error) {
	spki := src.spki(last)
	for _, r := range roots {
		if r != nil && bytes.Equal(r.RawSubjectPublicKeyInfo, spki) {
			return r, nil
		}
	}
	c, err := src.cert(last)
	if err != nil {
		return nil, err
	}
	for _, r := range roots {
		if r != nil && sameKey(r.PublicKey, c.PublicKey) {
			return r, nil
		}
	}
	for i, r := range roots {
		if r == nil || seenKey(roots[:i], r.PublicKey) {
			continue
		}
		if signs(r, signedOf(c), check) == nil {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("certificate %d (%s): %w: neither a configured root's key nor signed by one", last, c.Subject, ErrRoot)
}

// signs checks that signer may sign (it does not say it is not a CA) and
// that its key made the signature of s.
func signs(signer *x509.Certificate, s signedPart, check sigCheck) error {
	if signer.BasicConstraintsValid && !signer.IsCA {
		return fmt.Errorf("the signer says it is not a CA")
	}
	return check(signer, s)
}

// checkSignedBy verifies the signature of s with signer's key. Both passed
// the allow-list, so the cost is bounded.
func checkSignedBy(signer *x509.Certificate, s signedPart) error {
	return signer.CheckSignature(s.alg, s.tbs, s.sig)
}

// sameKey reports whether a and b are the same public key (the types
// CheckAlgorithms allows all have an Equal method).
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// seenKey reports whether one of roots has the key pub.
func seenKey(roots []*x509.Certificate, pub crypto.PublicKey) bool {
	for _, r := range roots {
		if r != nil && sameKey(r.PublicKey, pub) {
			return true
		}
	}
	return false
}
