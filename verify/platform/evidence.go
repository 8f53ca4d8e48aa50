package platform

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/x509chain"
)

// Formats of platform_attestation.
const (
	FormatAndroidKey     = androidkey.Format
	FormatAppleAppAttest = appleattest.Format
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
}

// ParseEvidence decodes the platform_attestation JSON object of §7:
//
//	{"format": "android-key", "chain": ["b64u DER", ...]}            at most 8 certificates
//	{"format": "apple-appattest", "key_id": "b64u", "attestation": "b64u CBOR"}
//	{"format": "receipt", "receipt": "..."}
//
// Unknown members are ignored. An unknown format is ErrFormat; a missing,
// mistyped, oversized or badly encoded field is ErrMalformed.
func ParseEvidence(raw []byte) (Evidence, error) {
	if len(raw) > MaxEvidenceSize {
		return Evidence{}, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(raw), MaxEvidenceSize)
	}
	var w struct {
		Format      string   `json:"format"`
		Chain       []string `json:"chain"`
		KeyID       string   `json:"key_id"`
		Attestation string   `json:"attestation"`
		Receipt     string   `json:"receipt"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return Evidence{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	ev := Evidence{Format: w.Format}
	var err error
	switch w.Format {
	case FormatAndroidKey:
		if len(w.Chain) == 0 || len(w.Chain) > x509chain.MaxCerts {
			return Evidence{}, fmt.Errorf("%w: chain of %d certificates, 1 to %d", ErrMalformed, len(w.Chain), x509chain.MaxCerts)
		}
		ev.Chain = make([][]byte, len(w.Chain))
		for i, c := range w.Chain {
			if ev.Chain[i], err = b64u(c, x509chain.MaxCertSize, "chain"); err != nil {
				return Evidence{}, err
			}
		}
	case FormatAppleAppAttest:
		if ev.KeyID, err = b64u(w.KeyID, maxKeyID, "key_id"); err != nil {
			return Evidence{}, err
		}
		if ev.Attestation, err = b64u(w.Attestation, appleattest.MaxAttestationSize, "attestation"); err != nil {
			return Evidence{}, err
		}
	case FormatReceipt:
		if w.Receipt == "" || len(w.Receipt) > maxReceipt {
			return Evidence{}, fmt.Errorf("%w: receipt of %d characters, 1 to %d", ErrMalformed, len(w.Receipt), maxReceipt)
		}
		ev.Receipt = w.Receipt
	default:
		return Evidence{}, fmt.Errorf("%w: unknown format %q", ErrFormat, w.Format)
	}
	return ev, nil
}

// b64u decodes a non-empty unpadded base64url field of at most max bytes.
func b64u(s string, max int, field string) ([]byte, error) {
	if s == "" || base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, fmt.Errorf("%w: %s: %d characters, 1 to %d bytes", ErrMalformed, field, len(s), max)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
	return b, nil
}
