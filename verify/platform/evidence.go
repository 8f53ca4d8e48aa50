package platform

import (
	"encoding/base64"
	"fmt"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/internal/jsonscan"
	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/x509chain"
)

// Formats of platform_attestation.
const (
	FormatAndroidKey     = androidkey.Format
	FormatAppleAppAttest = appleattest.Format
	FormatPlayIntegrity  = playintegrity.Format
	FormatReceipt        = "receipt"
)

// Bounds checked before decoding.
const (
	// MaxEvidenceSize is the largest platform_attestation object read.
	MaxEvidenceSize = 64 << 10
	maxKeyID        = 64
	maxReceipt      = 4096
)

// Evidence is a decoded platform_attestation object. Only the fields of its
// Format are set.
type Evidence struct {
	Format string
	// android-key: DER certificates, leaf first.
	Chain [][]byte
	// apple-appattest: key id and CBOR attestation object, raw bytes.
	KeyID, Attestation []byte
	// receipt: the receipt string as sent.
	Receipt string
	// play-integrity: the compact JWE as sent, at most
	// playintegrity.MaxToken characters.
	Token string
}

// ParseEvidence decodes the platform_attestation JSON object of §7:
//
//	{"format": "android-key", "chain": ["b64u DER", ...]}            at most 8 certificates
//	{"format": "apple-appattest", "key_id": "b64u", "attestation": "b64u CBOR"}
//	{"format": "receipt", "receipt": "..."}
//	{"format": "play-integrity", "token": "compact JWE"}           at most playintegrity.MaxToken characters
//
// It reads the object in one pass (verify/internal/jsonscan) and base64-decodes the
// fields of its format straight from the input, so that its cost is linear
// in the size and a quarter of encoding/json's, which read a 62 KiB object
// three times (validation, scanning, unquoting) in about 0.3 ms, more than
// the rest of the attest. Unknown members are skipped (and validated, nested
// at most 32 deep); a known member (format, chain, key_id, attestation,
// receipt, token) must have its type, or be null, whatever the format. Member
// names are compared exactly, after JSON escapes, not case-insensitively
// as encoding/json does, and a known member given twice is refused. An
// unknown format is ErrFormat; anything else that is not as above (not a
// JSON object, a missing, mistyped, oversized or badly encoded field) is
// ErrMalformed; a play-integrity object without a token, or with one over
// playintegrity.MaxToken characters, also wraps playintegrity.ErrMalformed
// (its reason is play_malformed).
func ParseEvidence(raw []byte) (Evidence, error) {
	if len(raw) > MaxEvidenceSize {
		return Evidence{}, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(raw), MaxEvidenceSize)
	}
	w, err := scanEvidence(raw)
	if err != nil {
		return Evidence{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	ev := Evidence{Format: w.format.text()}
	switch ev.Format {
	case FormatAndroidKey:
		if w.chainLen == 0 || w.chainLen > x509chain.MaxCerts {
			return Evidence{}, fmt.Errorf("%w: chain of %d certificates, 1 to %d", ErrMalformed, w.chainLen, x509chain.MaxCerts)
		}
		ev.Chain = make([][]byte, w.chainLen)
		for i := range ev.Chain {
			if ev.Chain[i], err = w.chain[i].b64u(x509chain.MaxCertSize, "chain"); err != nil {
				return Evidence{}, err
			}
		}
	case FormatAppleAppAttest:
		if ev.KeyID, err = w.keyID.b64u(maxKeyID, "key_id"); err != nil {
			return Evidence{}, err
		}
		if ev.Attestation, err = w.attestation.b64u(appleattest.MaxAttestationSize, "attestation"); err != nil {
			return Evidence{}, err
		}
	case FormatReceipt:
		r := w.receipt.text()
		if r == "" || len(r) > maxReceipt {
			return Evidence{}, fmt.Errorf("%w: receipt of %d characters, 1 to %d", ErrMalformed, len(r), maxReceipt)
		}
		ev.Receipt = r
	case FormatPlayIntegrity:
		tok := w.token.text()
		if tok == "" || len(tok) > playintegrity.MaxToken {
			return Evidence{}, fmt.Errorf("%w: %w: token of %d characters, 1 to %d", ErrMalformed, playintegrity.ErrMalformed, len(tok), playintegrity.MaxToken)
		}
		ev.Token = tok
	default:
		return Evidence{}, fmt.Errorf("%w: unknown format %q", ErrFormat, ev.Format)
	}
	return ev, nil
}

// jsonString is a string member as sent: its raw bytes between the quotes
// (aliasing the input) and whether they are its value (printable ASCII, no
// escapes). The zero value is an absent member or null.
type jsonString struct {
	raw   []byte
	plain bool
}

// text is the string's value.
func (j jsonString) text() string {
	if j.plain {
		return string(j.raw)
	}
	return string(jsonscan.DecodeString(j.raw))
}

// b64u decodes a non-empty unpadded base64url field of at most max bytes.
func (j jsonString) b64u(max int, field string) ([]byte, error) {
	s := j.raw
	if !j.plain {
		s = jsonscan.DecodeString(s)
	}
	if len(s) == 0 || base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, fmt.Errorf("%w: %s: %d characters, 1 to %d bytes", ErrMalformed, field, len(s), max)
	}
	b := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Decode(b, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
	return b[:n], nil
}

// wireEvidence holds the known members of the object as sent.
type wireEvidence struct {
	format, keyID, attestation, receipt, token jsonString
	// chain holds the first MaxCerts+1 elements; chainLen counts them all.
	chain    [x509chain.MaxCerts + 1]jsonString
	chainLen int
}

// scanEvidence reads the object: known members into w, others skipped.
func scanEvidence(raw []byte) (*wireEvidence, error) {
	s := &jsonscan.Scanner{B: raw}
	w := &wireEvidence{}
	if !s.Eat('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var seen uint
	for first := true; !s.Eat('}'); first = false {
		if !first && !s.Eat(',') {
			return nil, jsonscan.ErrJSON
		}
		k, plain, err := s.Str()
		if err != nil {
			return nil, err
		}
		if !s.Eat(':') {
			return nil, jsonscan.ErrJSON
		}
		name := jsonString{k, plain}.text()
		if err := w.member(s, name); err != nil {
			return nil, err
		}
		if bit := knownBit(name); bit != 0 {
			if seen&bit != 0 {
				return nil, fmt.Errorf("member %q repeated", name)
			}
			seen |= bit
		}
	}
	if !s.End() {
		return nil, fmt.Errorf("data after the object")
	}
	return w, nil
}

// knownBit is a distinct bit for each known member, 0 for others.
func knownBit(name string) uint {
	switch name {
	case "format":
		return 1
	case "chain":
		return 2
	case "key_id":
		return 4
	case "attestation":
		return 8
	case "receipt":
		return 16
	case "token":
		return 32
	}
	return 0
}

// member reads the value of the member name.
func (w *wireEvidence) member(s *jsonscan.Scanner, name string) error {
	var dst *jsonString
	switch name {
	case "format":
		dst = &w.format
	case "key_id":
		dst = &w.keyID
	case "attestation":
		dst = &w.attestation
	case "receipt":
		dst = &w.receipt
	case "token":
		dst = &w.token
	case "chain":
		return w.readChain(s)
	default:
		return s.Skip(0)
	}
	if s.Literal("null") {
		return nil
	}
	raw, plain, err := s.Str()
	if err != nil {
		return fmt.Errorf("%s is not a string", name)
	}
	*dst = jsonString{raw, plain}
	return nil
}

// readChain reads null or an array of strings (null elements read as
// empty strings, as encoding/json reads them).
func (w *wireEvidence) readChain(s *jsonscan.Scanner) error {
	if s.Literal("null") {
		return nil
	}
	if !s.Eat('[') {
		return fmt.Errorf("chain is not an array")
	}
	if s.Eat(']') {
		return nil
	}
	for {
		var elem jsonString
		if !s.Literal("null") {
			raw, plain, err := s.Str()
			if err != nil {
				return fmt.Errorf("chain holds a value that is not a string")
			}
			elem = jsonString{raw, plain}
		}
		if w.chainLen < len(w.chain) {
			w.chain[w.chainLen] = elem
		}
		w.chainLen++
		if s.Eat(']') {
			return nil
		}
		if !s.Eat(',') {
			return jsonscan.ErrJSON
		}
	}
}
