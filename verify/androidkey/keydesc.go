package androidkey

import (
	"fmt"
)

// KeyDescriptionOID is the object identifier of the key description
// extension that Android Keystore puts in an attestation leaf.
const KeyDescriptionOID = "1.3.6.1.4.1.11129.2.1.17"

// Known attestationVersion values. The top-level layout has not changed
// since Keymaster 2: versions newer than the last known one are read with
// the KeyMint layout, and authorization tags this package does not know are
// skipped.
const (
	VersionKeymaster2  = 1
	VersionKeymaster3  = 2
	VersionKeymaster4  = 3
	VersionKeymaster41 = 4
	VersionKeyMint1    = 100
	VersionKeyMint2    = 200
	VersionKeyMint3    = 300
	VersionKeyMint4    = 400
)

// Bounds on a key description.
const (
	maxKeyDescriptionSize = 16 << 10
	maxAuthItems          = 128
	maxPackages           = 128
	maxDigests            = 32
)

// KeyDescription is the decoded key description extension: what this
// package needs of it. Byte slices alias the input of ParseKeyDescription.
//
//	KeyDescription ::= SEQUENCE {
//	  attestationVersion         INTEGER,
//	  attestationSecurityLevel   SecurityLevel,   -- ENUMERATED
//	  keyMintVersion             INTEGER,         -- keymasterVersion before KeyMint
//	  keyMintSecurityLevel       SecurityLevel,   -- keymasterSecurityLevel
//	  attestationChallenge       OCTET STRING,
//	  uniqueId                   OCTET STRING,
//	  softwareEnforced           AuthorizationList,
//	  hardwareEnforced           AuthorizationList }
type KeyDescription struct {
	AttestationVersion       int64
	AttestationSecurityLevel SecurityLevel
	KeyMintVersion           int64
	KeyMintSecurityLevel     SecurityLevel
	AttestationChallenge     []byte
	UniqueID                 []byte
	SoftwareEnforced         AuthorizationList
	HardwareEnforced         AuthorizationList
}

// ParseKeyDescription decodes the DER value of the key description
// extension. It tolerates elements appended after hardwareEnforced and
// unknown authorization tags; it refuses indefinite lengths, trailing bytes,
// a repeated rootOfTrust or attestationApplicationId tag in one list, and
// inputs over 16 KiB. Every error wraps ErrMalformed.
func ParseKeyDescription(der []byte) (*KeyDescription, error) {
	kd, err := parseKeyDescription(der)
	if err != nil {
		return nil, fmt.Errorf("%w: key description: %w", ErrMalformed, err)
	}
	return kd, nil
}

func parseKeyDescription(der []byte) (*KeyDescription, error) {
	if len(der) > maxKeyDescriptionSize {
		return nil, fmt.Errorf("%d bytes, at most %d", len(der), maxKeyDescriptionSize)
	}
	seq, err := only(der, classUniversal, true, tagSequence, "KeyDescription")
	if err != nil {
		return nil, err
	}
	b := seq.body
	kd := &KeyDescription{}
	var t tlv
	if t, b, err = expect(b, classUniversal, false, tagInteger, "attestationVersion"); err != nil {
		return nil, err
	}
	if kd.AttestationVersion, err = parseInt(t.body); err != nil {
		return nil, fmt.Errorf("attestationVersion: %w", err)
	}
	if kd.AttestationVersion < VersionKeymaster2 {
		return nil, fmt.Errorf("attestationVersion %d", kd.AttestationVersion)
	}
	if kd.AttestationSecurityLevel, b, err = parseLevel(b, "attestationSecurityLevel"); err != nil {
		return nil, err
	}
	if t, b, err = expect(b, classUniversal, false, tagInteger, "keyMintVersion"); err != nil {
		return nil, err
	}
	if kd.KeyMintVersion, err = parseInt(t.body); err != nil {
		return nil, fmt.Errorf("keyMintVersion: %w", err)
	}
	if kd.KeyMintSecurityLevel, b, err = parseLevel(b, "keyMintSecurityLevel"); err != nil {
		return nil, err
	}
	if t, b, err = expect(b, classUniversal, false, tagOctetString, "attestationChallenge"); err != nil {
		return nil, err
	}
	kd.AttestationChallenge = t.body
	if t, b, err = expect(b, classUniversal, false, tagOctetString, "uniqueId"); err != nil {
		return nil, err
	}
	kd.UniqueID = t.body
	if t, b, err = expect(b, classUniversal, true, tagSequence, "softwareEnforced"); err != nil {
		return nil, err
	}
	if kd.SoftwareEnforced, err = parseAuthorizationList(t.body); err != nil {
		return nil, fmt.Errorf("softwareEnforced: %w", err)
	}
	if t, _, err = expect(b, classUniversal, true, tagSequence, "hardwareEnforced"); err != nil {
		return nil, err
	}
	if kd.HardwareEnforced, err = parseAuthorizationList(t.body); err != nil {
		return nil, fmt.Errorf("hardwareEnforced: %w", err)
	}
	return kd, nil
}

func parseLevel(b []byte, what string) (SecurityLevel, []byte, error) {
	t, rest, err := expect(b, classUniversal, false, tagEnumerated, what)
	if err != nil {
		return LevelUnspecified, nil, err
	}
	v, err := parseInt(t.body)
	if err != nil {
		return LevelUnspecified, nil, fmt.Errorf("%s: %w", what, err)
	}
	l, ok := levelFromASN1(v)
	if !ok {
		return LevelUnspecified, nil, fmt.Errorf("%s: unknown value %d", what, v)
	}
	return l, rest, nil
}
