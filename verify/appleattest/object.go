package appleattest

import (
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Format is the attestation statement format this package verifies.
const Format = "apple-appattest"

// Bounds on an attestation object. Real ones are about 5.5 KiB, most of it
// the receipt.
const (
	// MaxAttestationSize is the largest attestation object accepted, in bytes.
	MaxAttestationSize = 32 << 10
	maxCredentialID    = 1023 // WebAuthn's bound
)

// AttestationObject is a decoded App Attest attestation object:
//
//	{"fmt": "apple-appattest", "attStmt": {"x5c": [credCert, intermediate, ...], "receipt": bytes}, "authData": bytes}
//
// Byte slices alias the input of ParseAttestationObject.
type AttestationObject struct {
	Format   string
	X5C      [][]byte
	Receipt  []byte
	AuthData AuthenticatorData
	// RawAuthData is authData as sent, which the nonce covers.
	RawAuthData []byte
}

// AuthenticatorData is the parsed authData (WebAuthn layout):
// rpIdHash(32) flags(1) counter(4, big-endian) aaguid(16)
// credentialIdLength(2) credentialId credentialPublicKey(COSE, not decoded).
type AuthenticatorData struct {
	RPIDHash     [32]byte
	Flags        byte
	Counter      uint32
	AAGUID       [16]byte
	CredentialID []byte
}

// flagAttestedCredentialData is the AT flag: attested credential data follows.
const flagAttestedCredentialData = 0x40

type wireObject struct {
	Fmt     string `cbor:"fmt"`
	AttStmt struct {
		X5C     [][]byte `cbor:"x5c"`
		Receipt []byte   `cbor:"receipt"`
	} `cbor:"attStmt"`
	AuthData []byte `cbor:"authData"`
}

// decMode is a strict CBOR decoder for attestation objects: no indefinite
// lengths, no tags, no duplicate map keys, at most 4 levels of nesting and
// 16 array elements or map pairs.
func decMode() (cbor.DecMode, error) {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  4,
		MaxArrayElements: 16,
		MaxMapPairs:      16,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
}

// ParseAttestationObject decodes an attestation object and its
// authenticator data, checking the bounds before decoding. It does not
// verify anything else; an error wraps ErrMalformed.
func ParseAttestationObject(b []byte) (*AttestationObject, error) {
	if len(b) > MaxAttestationSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxAttestationSize)
	}
	dm, err := decMode()
	if err != nil {
		return nil, fmt.Errorf("%w: decoder: %w", ErrMalformed, err)
	}
	var w wireObject
	if err := dm.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.Fmt != Format {
		return nil, fmt.Errorf("%w: fmt %q, want %q", ErrMalformed, w.Fmt, Format)
	}
	if len(w.AttStmt.X5C) == 0 {
		return nil, fmt.Errorf("%w: no x5c", ErrMalformed)
	}
	ad, err := parseAuthData(w.AuthData)
	if err != nil {
		return nil, fmt.Errorf("%w: authData: %w", ErrMalformed, err)
	}
	return &AttestationObject{Format: w.Fmt, X5C: w.AttStmt.X5C, Receipt: w.AttStmt.Receipt, AuthData: ad, RawAuthData: w.AuthData}, nil
}

func parseAuthData(b []byte) (AuthenticatorData, error) {
	var ad AuthenticatorData
	const fixed = 32 + 1 + 4 + 16 + 2
	if len(b) < fixed {
		return ad, fmt.Errorf("%d bytes, at least %d", len(b), fixed)
	}
	copy(ad.RPIDHash[:], b[:32])
	ad.Flags = b[32]
	ad.Counter = binary.BigEndian.Uint32(b[33:37])
	if ad.Flags&flagAttestedCredentialData == 0 {
		return ad, fmt.Errorf("no attested credential data (flags %#02x)", ad.Flags)
	}
	copy(ad.AAGUID[:], b[37:53])
	n := int(binary.BigEndian.Uint16(b[53:55]))
	if n == 0 || n > maxCredentialID || n > len(b)-fixed {
		return ad, fmt.Errorf("credential id of %d bytes in %d", n, len(b)-fixed)
	}
	ad.CredentialID = b[fixed : fixed+n : fixed+n]
	return ad, nil
}
