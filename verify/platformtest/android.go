package platformtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// AndroidCA is a test Android attestation CA: a root and an intermediate
// that issues attestation leaves. Its fields are exported for tests that
// build unusual chains; do not modify them.
type AndroidCA struct{ ca }

// NewAndroidCA makes a fresh test root and intermediate (P-256).
func NewAndroidCA() (*AndroidCA, error) {
	c, err := newCA("attestd test Android attestation")
	if err != nil {
		return nil, err
	}
	return &AndroidCA{c}, nil
}

// Roots returns the root, as androidkey.Verify takes it.
func (a *AndroidCA) Roots() []*x509.Certificate { return []*x509.Certificate{a.Root} }

// RootPEM returns the root as PEM, as --android-roots reads it.
func (a *AndroidCA) RootPEM() []byte { return rootPEM(a.Root) }

// AndroidLeaf describes an attestation leaf. The zero value (plus a device
// key) is a TEE key, KeyMint 300, verified boot, locked, with an empty
// challenge, package and signer.
type AndroidLeaf struct {
	DeviceKey *ecdsa.PublicKey
	// Challenge is the attestationChallenge as is; AndroidChallenge(nonce)
	// gives the one §7 wants.
	Challenge []byte
	Package   string
	Signer    [32]byte
	// Security levels; LevelUnspecified means TEE.
	AttestationSecurity androidkey.SecurityLevel
	KeyMintSecurity     androidkey.SecurityLevel
	BootState           androidkey.BootState
	Unlocked            bool
	// AttestationVersion is also used as keyMintVersion; 0 means 300.
	AttestationVersion int64
	// AppIDInHardware puts attestationApplicationId in hardwareEnforced
	// instead of softwareEnforced.
	AppIDInHardware bool
	// NoRootOfTrust and NoApplicationID leave those authorizations out.
	NoRootOfTrust   bool
	NoApplicationID bool
	// KeyDescription, when not nil, is the extension value as is.
	KeyDescription []byte
	// NoExtension leaves the key description extension out.
	NoExtension bool
	// Validity of the leaf; zero values mean 2000-01-01 and 2100-01-01.
	NotBefore, NotAfter time.Time
	// Serial of the leaf; nil means random.
	Serial *big.Int
	// PROTOCOL.md §9 fields, in hardwareEnforced (softwareEnforced for a
	// software-level key); 0 leaves one out. OSPatchLevel is YYYYMM,
	// VendorPatchLevel and BootPatchLevel YYYYMMDD.
	OSVersion, OSPatchLevel, VendorPatchLevel, BootPatchLevel int64
	// BootKey is the root of trust's verifiedBootKey; nil means 32 zero
	// bytes.
	BootKey []byte
	// VersionCode is the package's version in attestationApplicationId;
	// 0 means 1.
	VersionCode int64
}

// AndroidChallenge is SHA-256(nonce), the attestationChallenge §7 wants.
func AndroidChallenge(nonce []byte) []byte {
	s := sha256.Sum256(nonce)
	return s[:]
}

// Issue returns the DER chain [leaf, intermediate, root] for l.
func (a *AndroidCA) Issue(l AndroidLeaf) ([][]byte, error) {
	leaf, err := AndroidLeafCert(l, a.Intermediate, a.IntermediateKey)
	if err != nil {
		return nil, err
	}
	return [][]byte{leaf, a.Intermediate.Raw, a.Root.Raw}, nil
}

// AndroidLeafCert makes the DER leaf for l signed by parent's key.
func AndroidLeafCert(l AndroidLeaf, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: l.Serial,
		Subject:      pkix.Name{CommonName: "Android Keystore Key"},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if !l.NoExtension {
		value := l.KeyDescription
		if value == nil {
			value = KeyDescription(l)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 1, 17}, Value: value}}
	}
	return leafCert(tmpl, l.DeviceKey, parent, parentKey)
}

// KeyDescription encodes l's key description extension value (DER).
func KeyDescription(l AndroidLeaf) []byte {
	version := l.AttestationVersion
	if version == 0 {
		version = androidkey.VersionKeyMint3
	}
	vc, bootKey := l.VersionCode, l.BootKey
	if vc == 0 {
		vc = 1
	}
	if bootKey == nil {
		bootKey = make([]byte, 32)
	}
	appID := explicit(709, octets(sequence(
		set(sequence(octets([]byte(l.Package)), integer(vc))),
		set(octets(l.Signer[:])),
	)))
	var sw, hw [][]byte
	sw = append(sw, explicit(701, integer(1700000000000))) // creationDateTime
	hw = append(hw,
		explicit(1, set(integer(2))), // purpose: sign
		explicit(2, integer(3)),      // algorithm: EC
		explicit(702, integer(0)),    // origin: generated
	)
	if !l.NoRootOfTrust {
		hw = append(hw, explicit(704, sequence(
			octets(bootKey),
			boolean(!l.Unlocked),
			enumerated(int64(l.BootState)),
			octets(make([]byte, 32)),
		)))
	}
	fields := &hw
	if l.AttestationSecurity == androidkey.LevelSoftware {
		fields = &sw
	}
	for _, f := range []struct {
		tag uint32
		v   int64
	}{{705, l.OSVersion}, {706, l.OSPatchLevel}, {718, l.VendorPatchLevel}, {719, l.BootPatchLevel}} {
		if f.v != 0 {
			*fields = append(*fields, explicit(f.tag, integer(f.v)))
		}
	}
	if !l.NoApplicationID {
		if l.AppIDInHardware {
			hw = append(hw, appID)
		} else {
			sw = append(sw, appID)
		}
	}
	return sequence(
		integer(version),
		enumerated(asn1Level(l.AttestationSecurity)),
		integer(version),
		enumerated(asn1Level(l.KeyMintSecurity)),
		octets(l.Challenge),
		octets(nil),
		sequence(sw...),
		sequence(hw...),
	)
}

// asn1Level maps a level to the key description's ENUMERATED value.
func asn1Level(l androidkey.SecurityLevel) int64 {
	if l == androidkey.LevelUnspecified {
		l = androidkey.LevelTEE
	}
	return int64(l) - 1
}
