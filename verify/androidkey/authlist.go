package androidkey

import (
	"fmt"
)

// Authorization tags this package reads; every other tag is skipped.
const (
	tagRootOfTrust              = 704
	tagOSVersion                = 705
	tagOSPatchLevel             = 706
	tagAttestationApplicationID = 709
	tagVendorPatchLevel         = 718
	tagBootPatchLevel           = 719
)

// AuthorizationList holds the authorizations the §7 and §9 checks read. A
// nil field is an authorization the list does not carry.
//
//	AuthorizationList ::= SEQUENCE {   -- every field [tag] EXPLICIT and OPTIONAL
//	  ...
//	  rootOfTrust               [704] EXPLICIT RootOfTrust OPTIONAL,
//	  osVersion                 [705] EXPLICIT INTEGER OPTIONAL,        -- e.g. 160000 for 16.0.0
//	  osPatchLevel              [706] EXPLICIT INTEGER OPTIONAL,        -- YYYYMM
//	  ...
//	  attestationApplicationId  [709] EXPLICIT OCTET STRING OPTIONAL,  -- DER of AttestationApplicationId
//	  ...
//	  vendorPatchLevel          [718] EXPLICIT INTEGER OPTIONAL,        -- YYYYMMDD
//	  bootPatchLevel            [719] EXPLICIT INTEGER OPTIONAL,        -- YYYYMMDD
//	  ... }
//
// Each authorization may appear once in a list: a repeated one is refused.
type AuthorizationList struct {
	RootOfTrust              *RootOfTrust
	AttestationApplicationID *AttestationApplicationID
	// The integers as they are encoded (at most 8 bytes, two's complement);
	// their meaning is read by PatchDate and the Policy checks.
	OSVersion        *int64
	OSPatchLevel     *int64
	VendorPatchLevel *int64
	BootPatchLevel   *int64
}

// RootOfTrust describes the device's verified boot.
//
//	RootOfTrust ::= SEQUENCE {
//	  verifiedBootKey    OCTET STRING,
//	  deviceLocked       BOOLEAN,
//	  verifiedBootState  VerifiedBootState,   -- ENUMERATED
//	  verifiedBootHash   OCTET STRING }       -- from Keymaster 4 (version 3) on
type RootOfTrust struct {
	VerifiedBootKey   []byte
	DeviceLocked      bool
	VerifiedBootState BootState
	VerifiedBootHash  []byte // nil when absent (before Keymaster 4)
}

// AttestationApplicationID names the app(s) of the UID that made the key.
//
//	AttestationApplicationId ::= SEQUENCE {
//	  packageInfos      SET OF AttestationPackageInfo,
//	  signatureDigests  SET OF OCTET STRING }
//	AttestationPackageInfo ::= SEQUENCE { packageName OCTET STRING, version INTEGER }
type AttestationApplicationID struct {
	Packages         []PackageInfo
	SignatureDigests [][]byte
}

// PackageInfo is one package of an AttestationApplicationID.
type PackageInfo struct {
	Name    string
	Version int64
}

func parseAuthorizationList(b []byte) (AuthorizationList, error) {
	var al AuthorizationList
	for n := 0; len(b) > 0; n++ {
		if n == maxAuthItems {
			return al, fmt.Errorf("more than %d authorizations", maxAuthItems)
		}
		item, rest, err := readTLV(b)
		if err != nil {
			return al, err
		}
		b = rest
		if item.class != classContext || !item.constructed {
			return al, fmt.Errorf("%w: authorization is not an explicit context tag", errDER)
		}
		switch item.tag {
		case tagRootOfTrust:
			if al.RootOfTrust != nil {
				return al, fmt.Errorf("rootOfTrust repeated")
			}
			if al.RootOfTrust, err = parseRootOfTrust(item.body); err != nil {
				return al, fmt.Errorf("rootOfTrust: %w", err)
			}
		case tagAttestationApplicationID:
			if al.AttestationApplicationID != nil {
				return al, fmt.Errorf("attestationApplicationId repeated")
			}
			if al.AttestationApplicationID, err = parseApplicationID(item.body); err != nil {
				return al, fmt.Errorf("attestationApplicationId: %w", err)
			}
		case tagOSVersion, tagOSPatchLevel, tagVendorPatchLevel, tagBootPatchLevel:
			if err := al.setInteger(item); err != nil {
				return al, err
			}
		}
	}
	return al, nil
}

// setInteger reads one of the integer authorizations into its field.
func (al *AuthorizationList) setInteger(item tlv) error {
	var field **int64
	var name string
	switch item.tag {
	case tagOSVersion:
		field, name = &al.OSVersion, "osVersion"
	case tagOSPatchLevel:
		field, name = &al.OSPatchLevel, "osPatchLevel"
	case tagVendorPatchLevel:
		field, name = &al.VendorPatchLevel, "vendorPatchLevel"
	default:
		field, name = &al.BootPatchLevel, "bootPatchLevel"
	}
	if *field != nil {
		return fmt.Errorf("%s repeated", name)
	}
	t, err := only(item.body, classUniversal, false, tagInteger, name)
	if err != nil {
		return err
	}
	v, err := parseInt(t.body)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	*field = &v
	return nil
}

func parseRootOfTrust(explicit []byte) (*RootOfTrust, error) {
	seq, err := only(explicit, classUniversal, true, tagSequence, "RootOfTrust")
	if err != nil {
		return nil, err
	}
	b := seq.body
	rot := &RootOfTrust{}
	var t tlv
	if t, b, err = expect(b, classUniversal, false, tagOctetString, "verifiedBootKey"); err != nil {
		return nil, err
	}
	rot.VerifiedBootKey = t.body
	if t, b, err = expect(b, classUniversal, false, tagBoolean, "deviceLocked"); err != nil {
		return nil, err
	}
	if rot.DeviceLocked, err = parseBool(t.body); err != nil {
		return nil, fmt.Errorf("deviceLocked: %w", err)
	}
	if t, b, err = expect(b, classUniversal, false, tagEnumerated, "verifiedBootState"); err != nil {
		return nil, err
	}
	state, err := parseInt(t.body)
	if err != nil || state < int64(BootVerified) || state > int64(BootFailed) {
		return nil, fmt.Errorf("verifiedBootState: %w: value out of range", errDER)
	}
	rot.VerifiedBootState = BootState(state)
	if len(b) == 0 {
		return rot, nil // verifiedBootHash is absent before Keymaster 4
	}
	if t, _, err = expect(b, classUniversal, false, tagOctetString, "verifiedBootHash"); err != nil {
		return nil, err
	}
	rot.VerifiedBootHash = t.body
	return rot, nil
}

func parseApplicationID(explicit []byte) (*AttestationApplicationID, error) {
	octets, err := only(explicit, classUniversal, false, tagOctetString, "attestationApplicationId")
	if err != nil {
		return nil, err
	}
	seq, err := only(octets.body, classUniversal, true, tagSequence, "AttestationApplicationId")
	if err != nil {
		return nil, err
	}
	infos, rest, err := expect(seq.body, classUniversal, true, tagSet, "packageInfos")
	if err != nil {
		return nil, err
	}
	digests, _, err := expect(rest, classUniversal, true, tagSet, "signatureDigests")
	if err != nil {
		return nil, err
	}
	id := &AttestationApplicationID{}
	for b := infos.body; len(b) > 0; {
		if len(id.Packages) == maxPackages {
			return nil, fmt.Errorf("more than %d packages", maxPackages)
		}
		var info tlv
		if info, b, err = expect(b, classUniversal, true, tagSequence, "AttestationPackageInfo"); err != nil {
			return nil, err
		}
		name, r, err := expect(info.body, classUniversal, false, tagOctetString, "packageName")
		if err != nil {
			return nil, err
		}
		ver, _, err := expect(r, classUniversal, false, tagInteger, "version")
		if err != nil {
			return nil, err
		}
		v, err := parseInt(ver.body)
		if err != nil {
			return nil, fmt.Errorf("version: %w", err)
		}
		id.Packages = append(id.Packages, PackageInfo{Name: string(name.body), Version: v})
	}
	for b := digests.body; len(b) > 0; {
		if len(id.SignatureDigests) == maxDigests {
			return nil, fmt.Errorf("more than %d signature digests", maxDigests)
		}
		var d tlv
		if d, b, err = expect(b, classUniversal, false, tagOctetString, "signatureDigest"); err != nil {
			return nil, err
		}
		id.SignatureDigests = append(id.SignatureDigests, d.body)
	}
	return id, nil
}
