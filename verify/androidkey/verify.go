package androidkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/attestd/attestd/verify/x509chain"
)

// Format is the platform_attestation format this package verifies.
const Format = "android-key"

// Input is the evidence of one request and what it must match.
type Input struct {
	// Chain holds the DER certificates, leaf first, root included or not;
	// at most 8 of at most 16 KiB each.
	Chain [][]byte
	// DeviceKey is the request's device.key (P-256).
	DeviceKey *ecdsa.PublicKey
	// Nonce is the request's nonce as sent (ASCII bytes).
	Nonce []byte
	// AppID is the app's package name (app.id).
	AppID string
	// Signer is the SHA-256 of the app's signing certificate (app.signer).
	Signer [32]byte
}

// Policy is the app's policy for Android evidence. The zero value is the
// strict default: TEE or better, verified boot and a locked device.
type Policy struct {
	// MinSecurity is the lowest accepted attestation and KeyMint security
	// level; LevelUnspecified means LevelTEE.
	MinSecurity SecurityLevel
	// AllowUnlockedBootloader accepts a device that is not locked or whose
	// verified boot state is self-signed or unverified (never failed).
	AllowUnlockedBootloader bool
	// AllowedBootKeys (android_allowed_boot_keys, §9) are the boot keys
	// (BootKeyID) of a locked device whose boot is self-signed that pass:
	// a fleet on an alternative OS.
	AllowedBootKeys [][32]byte
	// MaxPatchAgeDays (android_max_patch_age_days, §9; 0: no check): the
	// OS patch level, and the vendor and boot patch levels when present,
	// are no older than this many days.
	MaxPatchAgeDays int
	// MinOSVersion (android_min_os_version, §9; 0: no check) is the lowest
	// attested osVersion accepted.
	MinOSVersion int64
	// CheckVersionCode (the app's version_codes, §9): the attested
	// package's version is VersionCode.
	CheckVersionCode bool
	VersionCode      int64
}

// Result is what a passing verification found, for receipts and logs.
type Result struct {
	Format string // always Format
	// SecurityLevel is the lower of the attestation and KeyMint levels.
	SecurityLevel            SecurityLevel
	AttestationSecurityLevel SecurityLevel
	KeyMintSecurityLevel     SecurityLevel
	BootState                BootState
	DeviceLocked             bool
	AttestationVersion       int64
	KeyMintVersion           int64
	// Attested holds the §9 fields (patch levels, OS version, boot key,
	// version code), checked against the policy by CheckFields.
	Attested Attested
	// Serials are the serial numbers of the certificates sent, leaf first,
	// as big-endian bytes without leading zeros (what the status list is
	// keyed by, and a receipt records). Each is at most MaxSerialLen bytes.
	Serials [][]byte
}

// MaxSerialLen is the longest certificate serial number accepted: 20 octets
// (RFC 5280 §4.1.2.2). It bounds what a receipt records.
const MaxSerialLen = 20

// Verify checks Android Key Attestation evidence against PROTOCOL.md §7, in
// its order: the chain as x509chain.VerifyDER does (every key and signature
// algorithm on the allow-list before any signature or parse, anchored at
// one of roots by key or by a root's signature, signatures from the anchor
// towards the leaf, each certificate parsed when it is reached, the dates
// of the certificates between them at now); the serial numbers; the leaf
// key is the device key; the key description's attestationChallenge is
// SHA-256(Nonce), attestationApplicationId names AppID and Signer (and the
// version code, when the policy has one), both security levels meet the
// policy and so does the root of trust (BootAllowed); the patch levels and
// OS version meet the policy (CheckFields, §9); and no certificate of the
// chain is in status (nil: an empty list). A certificate serial number
// longer than MaxSerialLen is malformed.
//
// The first failing check answers, with an error wrapping one of this
// package's sentinels (see Reason) and, for the chain, x509chain's too.
func Verify(in Input, p Policy, roots []*x509.Certificate, status *StatusList, now time.Time) (Result, error) {
	challenge := sha256.Sum256(in.Nonce)
	return verify(in, challenge[:], p, roots, status, now)
}

// verify is Verify with the expected attestationChallenge given as is
// (real test vectors carry challenges that are not a SHA-256 of a nonce).
func verify(in Input, challenge []byte, p Policy, roots []*x509.Certificate, status *StatusList, now time.Time) (Result, error) {
	want := p.MinSecurity
	if want == LevelUnspecified {
		want = LevelTEE
	}
	if want > LevelStrongBox {
		return Result{}, fmt.Errorf("%w: minimum security level %d", ErrPolicy, want)
	}
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	certs, err := x509chain.VerifyDER(in.Chain, roots, now)
	if err != nil {
		return Result{}, chainError(err)
	}
	serials, err := serialsOf(certs)
	if err != nil {
		return Result{}, err
	}
	leaf := certs[0]
	ext, err := keyDescriptionExtension(certs)
	if err != nil {
		return Result{}, err
	}
	if err := sameKey(leaf, in.DeviceKey); err != nil {
		return Result{}, err
	}
	if ext == nil {
		return Result{}, fmt.Errorf("%w: the leaf has no key description extension", ErrMalformed)
	}
	kd, err := ParseKeyDescription(ext)
	if err != nil {
		return Result{}, err
	}
	if subtle.ConstantTimeCompare(kd.AttestationChallenge, challenge) != 1 {
		return Result{}, fmt.Errorf("%w: attestationChallenge is not SHA-256 of the nonce", ErrChallenge)
	}
	if err := checkApplication(kd, in.AppID, in.Signer, p); err != nil {
		return Result{}, err
	}
	if kd.AttestationSecurityLevel < want || kd.KeyMintSecurityLevel < want {
		return Result{}, fmt.Errorf("%w: attestation %s, KeyMint %s, policy wants %s",
			ErrSecurityLevel, kd.AttestationSecurityLevel, kd.KeyMintSecurityLevel, want)
	}
	rot, err := checkBoot(kd, p)
	if err != nil {
		return Result{}, err
	}
	found := attested(kd, rot, in.AppID)
	if err := CheckFields(found, p, now); err != nil {
		return Result{}, err
	}
	for i, s := range serials {
		if e, ok := status.LookupBytes(s); ok {
			return Result{}, fmt.Errorf("%w: certificate %d (serial %x) is %s", ErrRevoked, i, s, e.Status)
		}
	}
	return Result{
		Format:                   Format,
		SecurityLevel:            min(kd.AttestationSecurityLevel, kd.KeyMintSecurityLevel),
		AttestationSecurityLevel: kd.AttestationSecurityLevel,
		KeyMintSecurityLevel:     kd.KeyMintSecurityLevel,
		BootState:                rot.VerifiedBootState,
		DeviceLocked:             rot.DeviceLocked,
		AttestationVersion:       kd.AttestationVersion,
		KeyMintVersion:           kd.KeyMintVersion,
		Attested:                 found,
		Serials:                  serials,
	}, nil
}

// serialsOf returns the serial numbers of certs as big-endian bytes, each
// at most MaxSerialLen long (ErrMalformed otherwise).
func serialsOf(certs []*x509.Certificate) ([][]byte, error) {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		if c.SerialNumber.Sign() < 0 {
			return nil, fmt.Errorf("%w: certificate %d has a negative serial number", ErrMalformed, i)
		}
		out[i] = c.SerialNumber.Bytes()
		if len(out[i]) > MaxSerialLen {
			return nil, fmt.Errorf("%w: certificate %d has a serial number of %d bytes, at most %d", ErrMalformed, i, len(out[i]), MaxSerialLen)
		}
	}
	return out, nil
}

// keyDescriptionExtension returns the leaf's key description (nil when it
// has none), and refuses a chain where another certificate carries one: an
// attested key can sign any bytes, so a "leaf" signed by a genuine attested
// key proves nothing.
func keyDescriptionExtension(certs []*x509.Certificate) ([]byte, error) {
	oid := keyDescriptionOID()
	var value []byte
	for i, c := range certs {
		for _, e := range c.Extensions {
			if !e.Id.Equal(oid) {
				continue
			}
			if i != 0 {
				return nil, fmt.Errorf("%w: certificate %d, not the leaf, carries a key description", ErrChain, i)
			}
			value = e.Value
		}
	}
	return value, nil
}

func keyDescriptionOID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 1, 17}
}

// sameKey checks that the leaf's key is the P-256 device key.
func sameKey(leaf *x509.Certificate, device *ecdsa.PublicKey) error {
	if device == nil {
		return fmt.Errorf("%w: no device key", ErrKeyMismatch)
	}
	k, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return fmt.Errorf("%w: the leaf key is not a P-256 key", ErrKeyMismatch)
	}
	if !k.Equal(device) {
		return fmt.Errorf("%w", ErrKeyMismatch)
	}
	return nil
}

// checkApplication checks every attestationApplicationId the key
// description carries (softwareEnforced, hardwareEnforced or both): each
// must name the app id and the signer, and, when the policy checks the
// version code, name the app id with that version.
func checkApplication(kd *KeyDescription, appID string, signer [32]byte, p Policy) error {
	ids := make([]*AttestationApplicationID, 0, 2)
	for _, id := range []*AttestationApplicationID{kd.SoftwareEnforced.AttestationApplicationID, kd.HardwareEnforced.AttestationApplicationID} {
		if id != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("%w: no attestationApplicationId", ErrPackage)
	}
	for _, id := range ids {
		found, version := false, false
		for _, pkg := range id.Packages {
			if pkg.Name == appID {
				found = true
				version = version || pkg.Version == p.VersionCode
			}
		}
		if !found {
			return fmt.Errorf("%w: %d package(s), none is %q", ErrPackage, len(id.Packages), appID)
		}
		if p.CheckVersionCode && !version {
			return fmt.Errorf("%w: no package %q of version code %d", ErrVersionCode, appID, p.VersionCode)
		}
	}
	for _, id := range ids {
		match := 0
		for _, d := range id.SignatureDigests {
			match |= subtle.ConstantTimeCompare(d, signer[:])
		}
		if match != 1 {
			return fmt.Errorf("%w: %d signature digest(s), none is the app's signer", ErrSigner, len(id.SignatureDigests))
		}
	}
	return nil
}

// checkBoot finds the root of trust (hardwareEnforced; softwareEnforced only
// for a key attested in software) and checks it against the policy
// (BootAllowed).
func checkBoot(kd *KeyDescription, p Policy) (*RootOfTrust, error) {
	rot := kd.HardwareEnforced.RootOfTrust
	if rot == nil && kd.AttestationSecurityLevel == LevelSoftware {
		rot = kd.SoftwareEnforced.RootOfTrust
	}
	if rot == nil {
		return nil, fmt.Errorf("%w: no root of trust", ErrBootState)
	}
	if err := BootAllowed(rot.VerifiedBootState, rot.DeviceLocked, BootKeyID(rot.VerifiedBootKey), p); err != nil {
		return nil, err
	}
	return rot, nil
}
