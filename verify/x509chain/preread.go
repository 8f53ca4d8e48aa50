package x509chain

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/bits"
)

// preread applies the allow-list of CheckAlgorithms to a DER certificate
// without parsing it: it walks the few headers between the start and the
// signature algorithm and the subject public key, and allocates nothing
// (but for RSA-PSS parameters, read as crypto/x509 reads them). For any
// der that x509.ParseCertificate parses, it answers as CheckAlgorithms
// does on the result, nil or ErrKey (FuzzPrereadAgrees); der whose headers
// it cannot walk is ErrMalformed, and der it lets through that does not
// parse is refused when it is parsed. So a chain's every key and signature
// algorithm is checked before any certificate is parsed, and VerifyDER
// parses only the certificates its verdict reads.
//
// It returns what VerifyDER reads before parsing: the certificate's
// subject public key and, when its signature is a whole number of bytes
// (as every RSA and ECDSA signature is), what its signature covers; for
// any der that parses they are the parsed certificate's
// RawSubjectPublicKeyInfo, SignatureAlgorithm, RawTBSCertificate and
// Signature (FuzzPrereadAgrees).
func preread(der []byte) (rawCert, error) {
	_, cert, _, ok := element(der, tagSequence)
	if !ok {
		return rawCert{}, fmt.Errorf("%w: not a DER certificate", ErrMalformed)
	}
	tbsWhole, tbs, cert, ok := element(cert, tagSequence)
	if !ok {
		return rawCert{}, fmt.Errorf("%w: no signed part", ErrMalformed)
	}
	outer, _, sigValue, ok := element(cert, tagSequence)
	if !ok {
		return rawCert{}, fmt.Errorf("%w: no signature algorithm", ErrMalformed)
	}
	if len(tbs) > 0 && tbs[0] == tagVersion {
		if _, _, tbs, ok = element(tbs, tagVersion); !ok {
			return rawCert{}, fmt.Errorf("%w: bad version", ErrMalformed)
		}
	}
	var inner, spkiWhole, spki []byte
	_, _, tbs, ok = element(tbs, tagInteger) // serial number
	if ok {
		inner, _, tbs, ok = element(tbs, tagSequence)
	}
	for range 3 { // issuer, validity, subject
		if ok {
			_, _, tbs, ok = element(tbs, tagSequence)
		}
	}
	if ok {
		spkiWhole, spki, _, ok = element(tbs, tagSequence)
	}
	if !ok || !bytes.Equal(inner, outer) {
		return rawCert{}, fmt.Errorf("%w: not a certificate crypto/x509 reads", ErrMalformed)
	}
	if err := prereadKey(spki); err != nil {
		return rawCert{}, err
	}
	alg, err := prereadSignature(outer)
	if err != nil {
		return rawCert{}, err
	}
	raw := rawCert{spki: spkiWhole}
	if _, sig, _, ok := element(sigValue, tagBitString); ok && len(sig) > 1 && sig[0] == 0 {
		raw.signed = signedPart{alg: alg, tbs: tbsWhole, sig: sig[1:]}
	}
	return raw, nil
}

// rawCert is what preread reads of a certificate for VerifyDER.
type rawCert struct {
	spki   []byte     // the SubjectPublicKeyInfo, whole
	signed signedPart // zero when its signature has unused bits
}

// signedPart is what a certificate's signature covers, and the signature.
type signedPart struct {
	alg x509.SignatureAlgorithm
	tbs []byte // the TBSCertificate, whole
	sig []byte
}

// signedOf is c's signedPart.
func signedOf(c *x509.Certificate) signedPart {
	return signedPart{alg: c.SignatureAlgorithm, tbs: c.RawTBSCertificate, sig: c.Signature}
}

// DER tags of the fields preread walks.
const (
	tagInteger   = 0x02
	tagBitString = 0x03
	tagNull      = 0x05
	tagOID       = 0x06
	tagSequence  = 0x30
	tagVersion   = 0xa0 // [0] EXPLICIT
)

// element reads the DER element at the start of b, which must have tag:
// the element whole, its contents, and what follows it. Lengths must be
// minimal and of at most three bytes (crypto/x509 reads DER alike).
func element(b []byte, tag byte) (whole, body, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != tag {
		return nil, nil, nil, false
	}
	n, h := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return nil, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		if n < 0x80 || n>>(8*(k-1)) == 0 {
			return nil, nil, nil, false
		}
		h += k
	}
	if n > len(b)-h {
		return nil, nil, nil, false
	}
	return b[:h+n], b[h : h+n], b[h+n:], true
}

// OIDs of the allow-list, as DER contents.
const (
	oidRSA    = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
	oidEC     = "\x2a\x86\x48\xce\x3d\x02\x01"
	oidP256   = "\x2a\x86\x48\xce\x3d\x03\x01\x07"
	oidP384   = "\x2b\x81\x04\x00\x22"
	oidRSAPSS = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
	// Signature algorithms: sha256WithRSAEncryption, sha384…, sha512…,
	// ecdsa-with-SHA256, …SHA384, …SHA512.
	oidSHA256RSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"
	oidSHA384RSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c"
	oidSHA512RSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d"
	oidSHA256ECDSA = "\x2a\x86\x48\xce\x3d\x04\x03\x02"
	oidSHA384ECDSA = "\x2a\x86\x48\xce\x3d\x04\x03\x03"
	oidSHA512ECDSA = "\x2a\x86\x48\xce\x3d\x04\x03\x04"
)

// algorithm reads an AlgorithmIdentifier's contents: its OID and its
// parameters element, if any.
func algorithm(ai []byte) (oid, params []byte, ok bool) {
	_, oid, params, ok = element(ai, tagOID)
	return oid, params, ok
}

// prereadKey applies the allow-list to a SubjectPublicKeyInfo's contents:
// ECDSA on P-256 or P-384, RSA of MinRSABits to MaxRSABits bits with
// exponent RSAExponent.
func prereadKey(spki []byte) error {
	ai, key, ok := []byte(nil), []byte(nil), false
	if _, ai, spki, ok = element(spki, tagSequence); ok {
		_, key, _, ok = element(spki, tagBitString)
	}
	oid, params, okAI := algorithm(ai)
	if !ok || !okAI || len(key) == 0 || key[0] > 7 {
		return fmt.Errorf("%w: bad public key", ErrMalformed)
	}
	switch string(oid) {
	case oidEC:
		if _, curve, _, ok := element(params, tagOID); ok && (string(curve) == oidP256 || string(curve) == oidP384) {
			return nil
		}
		return fmt.Errorf("%w: ECDSA key on a curve other than P-256 and P-384", ErrKey)
	case oidRSA:
		return prereadRSA(params, rightAlign(key))
	}
	return fmt.Errorf("%w: public key algorithm %x; allowed are ECDSA (P-256, P-384) and RSA", ErrKey, oid)
}

// rightAlign is the contents of a BIT STRING whose first byte is its count
// of unused bits, shifted so that those are at the start, as
// asn1.BitString.RightAlign shifts them (and crypto/x509 reads a key).
func rightAlign(bs []byte) []byte {
	shift, data := uint(bs[0]), bs[1:]
	if shift == 0 || len(data) == 0 {
		return data
	}
	out := make([]byte, len(data))
	out[0] = data[0] >> shift
	for i := 1; i < len(data); i++ {
		out[i] = data[i-1]<<(8-shift) | data[i]>>shift
	}
	return out
}

// prereadRSA applies the allow-list to an RSA key: NULL parameters, and
// SEQUENCE { modulus INTEGER, publicExponent INTEGER }, both positive, as
// crypto/x509 wants them.
func prereadRSA(params, key []byte) error {
	_, seq, _, ok := element(key, tagSequence)
	var n, e []byte
	if ok {
		_, n, seq, ok = element(seq, tagInteger)
	}
	if ok {
		_, e, _, ok = element(seq, tagInteger)
	}
	null, _, _, okNull := element(params, tagNull)
	if !ok || !okNull || len(null) != 2 || !positive(n) || !positive(e) {
		return fmt.Errorf("%w: bad RSA key", ErrMalformed)
	}
	if n[0] == 0 {
		n = n[1:]
	}
	size := 8*len(n) - bits.LeadingZeros8(n[0])
	if size < MinRSABits || size > MaxRSABits || string(e) != "\x01\x00\x01" {
		exp := "over 2^63"
		if len(e) <= 8 {
			var v uint64
			for _, c := range e {
				v = v<<8 | uint64(c)
			}
			exp = fmt.Sprint(v)
		}
		return fmt.Errorf("%w: RSA key of %d bits with exponent %s; allowed are %d to %d bits with exponent %d",
			ErrKey, size, exp, MinRSABits, MaxRSABits, RSAExponent)
	}
	return nil
}

// positive reports whether an INTEGER's contents are a minimal encoding
// of a number over zero.
func positive(v []byte) bool {
	switch {
	case len(v) == 0 || v[0]&0x80 != 0:
		return false
	case v[0] == 0:
		return len(v) > 1 && v[1]&0x80 != 0
	}
	return true
}

// prereadSignature applies the allow-list to a signature
// AlgorithmIdentifier (whole): RSA PKCS #1 v1.5 or ECDSA with SHA-256,
// SHA-384 or SHA-512, or RSA-PSS with parameters crypto/x509 maps to one
// of those. It returns the algorithm as crypto/x509 names it.
func prereadSignature(ai []byte) (x509.SignatureAlgorithm, error) {
	_, body, _, _ := element(ai, tagSequence)
	oid, params, ok := algorithm(body)
	if !ok {
		return 0, fmt.Errorf("%w: bad signature algorithm", ErrMalformed)
	}
	switch string(oid) {
	case oidSHA256RSA:
		return x509.SHA256WithRSA, nil
	case oidSHA384RSA:
		return x509.SHA384WithRSA, nil
	case oidSHA512RSA:
		return x509.SHA512WithRSA, nil
	case oidSHA256ECDSA:
		return x509.ECDSAWithSHA256, nil
	case oidSHA384ECDSA:
		return x509.ECDSAWithSHA384, nil
	case oidSHA512ECDSA:
		return x509.ECDSAWithSHA512, nil
	case oidRSAPSS:
		if alg := pssAlgorithm(params); alg != x509.UnknownSignatureAlgorithm {
			return alg, nil
		}
	}
	return 0, fmt.Errorf("%w: signature algorithm %x; allowed are RSA or ECDSA with SHA-256, SHA-384 or SHA-512", ErrKey, oid)
}

// pssParameters is RFC 4055's RSASSA-PSS-params, as crypto/x509 reads it.
type pssParameters struct {
	Hash         pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF          pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
	SaltLength   int                      `asn1:"explicit,tag:2"`
	TrailerField int                      `asn1:"optional,explicit,tag:3,default:1"`
}

// pssAlgorithm is the algorithm crypto/x509 maps RSA-PSS parameters to,
// SHA256WithRSAPSS, SHA384WithRSAPSS or SHA512WithRSAPSS, by its own test
// (x509.go, getSignatureAlgorithmFromAI): MGF1 with the message's hash, a
// salt of the hash's size, the default trailer. Any other parameters are
// UnknownSignatureAlgorithm.
func pssAlgorithm(params []byte) x509.SignatureAlgorithm {
	var p pssParameters
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return x509.UnknownSignatureAlgorithm
	}
	var mgfHash pkix.AlgorithmIdentifier
	if _, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mgfHash); err != nil {
		return x509.UnknownSignatureAlgorithm
	}
	null := func(b []byte) bool { return len(b) == 0 || bytes.Equal(b, asn1.NullBytes) }
	if !null(p.Hash.Parameters.FullBytes) || !p.MGF.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}) ||
		!mgfHash.Algorithm.Equal(p.Hash.Algorithm) || !null(mgfHash.Parameters.FullBytes) || p.TrailerField != 1 {
		return x509.UnknownSignatureAlgorithm
	}
	switch h := p.Hash.Algorithm; {
	case h.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}) && p.SaltLength == 32:
		return x509.SHA256WithRSAPSS
	case h.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}) && p.SaltLength == 48:
		return x509.SHA384WithRSAPSS
	case h.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}) && p.SaltLength == 64:
		return x509.SHA512WithRSAPSS
	}
	return x509.UnknownSignatureAlgorithm
}
