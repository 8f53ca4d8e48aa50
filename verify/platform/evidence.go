package platform

import (
	"encoding/base64"
	"fmt"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/jsonscan"
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
// It reads the object in one pass (ScanEvidence) and base64-decodes the
// fields of its format straight from the input (Wire.Evidence), so that
// its cost is linear in the size and a fraction of encoding/json's, which
// reads a 62 KiB object three times (validation, scanning, unquoting).
// Unknown members are skipped (and validated, nested at most 32 deep); a
// known member (format, chain, key_id, attestation, receipt, token) must
// have its type, or be null, whatever the format. Member names are
// compared exactly, after JSON escapes, not case-insensitively as
// encoding/json does, and a known member given twice is refused. An
// android-key chain is refused before anything of it is decoded when a
// certificate would be over x509chain.MaxCertSize or all of them over
// x509chain.MaxChainSize. An unknown format is ErrFormat; anything else
// that is not as above (not a JSON object, a missing, mistyped, oversized
// or badly encoded field) is ErrMalformed; a play-integrity object without
// a token, or with one over playintegrity.MaxToken characters, also wraps
// playintegrity.ErrMalformed (its reason is play_malformed).
func ParseEvidence(raw []byte) (Evidence, error) {
	if len(raw) > MaxEvidenceSize {
		return Evidence{}, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(raw), MaxEvidenceSize)
	}
	var w Wire
	n, err := ScanEvidence(raw, 0, ScanLimits{}, &w)
	if err != nil {
		return Evidence{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if jsonscan.SkipSpace(raw, n) != len(raw) {
		return Evidence{}, fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	return w.Evidence()
}

// Evidence decodes the object ScanEvidence read, with ParseEvidence's
// bounds and errors. The byte slices it returns are its own.
func (w *Wire) Evidence() (Evidence, error) {
	if w.bad != nil {
		return Evidence{}, fmt.Errorf("%w: %w", ErrMalformed, w.bad)
	}
	ev := Evidence{Format: w.format.text()}
	var err error
	switch ev.Format {
	case FormatAndroidKey:
		if ev.Chain, err = w.decodeChain(); err != nil {
			return Evidence{}, err
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

// decodeChain checks the chain's bounds on the lengths as sent, 1 to
// MaxCerts certificates of 1 to MaxCertSize bytes and at most MaxChainSize
// in all (x509chain's), then decodes them into one buffer: nothing of a
// chain out of bounds is decoded, and escaped strings are unescaped only
// as far as the bounds allow.
func (w *Wire) decodeChain() ([][]byte, error) {
	if w.chainLen == 0 || w.chainLen > x509chain.MaxCerts {
		return nil, fmt.Errorf("%w: chain of %d certificates, 1 to %d", ErrMalformed, w.chainLen, x509chain.MaxCerts)
	}
	// budget is more characters than a chain of MaxChainSize bytes can
	// have, so that a chain that runs over it is over MaxChainSize.
	budget := base64.RawURLEncoding.EncodedLen(x509chain.MaxChainSize) + 2*x509chain.MaxCerts
	var values [x509chain.MaxCerts][]byte
	total := 0
	for i, c := range w.chain[:w.chainLen] {
		v, ok := c.value(min(maxChars(x509chain.MaxCertSize), budget))
		if !ok || len(v) == 0 || base64.RawURLEncoding.DecodedLen(len(v)) > x509chain.MaxCertSize {
			return nil, fmt.Errorf("%w: chain: certificate %d of %d characters or more, 1 to %d bytes", ErrMalformed, i, len(v), x509chain.MaxCertSize)
		}
		budget -= len(v)
		values[i] = v
		total += base64.RawURLEncoding.DecodedLen(len(v))
	}
	if total > x509chain.MaxChainSize {
		return nil, fmt.Errorf("%w: chain: %d certificates of up to %d bytes in all, at most %d", ErrMalformed, w.chainLen, total, x509chain.MaxChainSize)
	}
	buf := make([]byte, total)
	chain := make([][]byte, w.chainLen)
	for i, v := range values[:w.chainLen] {
		n, err := base64.RawURLEncoding.Decode(buf, v)
		if err != nil {
			return nil, fmt.Errorf("%w: chain: %w", ErrMalformed, err)
		}
		chain[i], buf = buf[:n:n], buf[n:]
	}
	return chain, nil
}

// maxChars is one more character than a base64url field of at most max
// bytes can have.
func maxChars(max int) int { return base64.RawURLEncoding.EncodedLen(max) + 2 }

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

// value is the string's value as bytes (the raw bytes when plain), or
// false when it is longer than limit bytes (what fitted is then
// returned): an escaped string is unescaped no further than that.
func (j jsonString) value(limit int) ([]byte, bool) {
	if j.plain {
		return j.raw, len(j.raw) <= limit
	}
	return jsonscan.AppendDecoded(make([]byte, 0, min(len(j.raw), limit)), j.raw, limit)
}

// b64u decodes a non-empty unpadded base64url field of at most max bytes.
func (j jsonString) b64u(max int, field string) ([]byte, error) {
	s, ok := j.value(maxChars(max))
	if !ok || len(s) == 0 || base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, fmt.Errorf("%w: %s: %d characters or more, 1 to %d bytes", ErrMalformed, field, len(s), max)
	}
	b := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Decode(b, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
	return b[:n], nil
}
