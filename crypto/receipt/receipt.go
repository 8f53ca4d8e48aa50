package receipt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Formats a receipt records (the platform_attestation formats of §7 and
// §10); PlatformOf gives the app platform of each.
const (
	FormatAndroidKey     = "android-key"
	FormatAppleAppAttest = "apple-appattest"
	FormatPlayIntegrity  = "play-integrity"
)

// MaxLen is the longest receipt string Check reads.
const MaxLen = 1024

const (
	version = "r1"
	// macContext separates receipt MACs from any other use of the key.
	macContext = "attestd receipt\n"
	macLen     = sha256.Size
)

// Receipt is what a hardware enrolment found. Field values use the names of
// verify/androidkey and verify/appleattest.
type Receipt struct {
	AppID string // the app id it was issued for
	DID   string // b64u SHA-256 of the device key's 65-byte point
	// Format is FormatAndroidKey, FormatAppleAppAttest or
	// FormatPlayIntegrity.
	Format string
	// Android: SecurityLevel "software", "tee" or "strongbox" (the lower of
	// the attestation and KeyMint levels); BootState "verified",
	// "self_signed", "unverified" or "failed"; DeviceLocked.
	SecurityLevel string
	BootState     string
	DeviceLocked  bool
	// Apple: Environment "production" or "development".
	Environment string
	// Android (android-key, PROTOCOL.md §9): the chain's serials and what
	// the key description attested; the zero value for a receipt issued
	// before §9 and for other formats.
	Android Android
	// Play: what a Play Integrity verdict held (§10), rechecked against
	// the play_* policy on each use.
	Play PlayVerdicts
	// IssuedAt and ExpiresAt, whole seconds. A receipt is valid while
	// now < ExpiresAt.
	IssuedAt, ExpiresAt time.Time
}

// Issue signs r with the active key. IssuedAt becomes now; r.ExpiresAt,
// which the caller sets (now + the deployment's receipt lifetime), must be
// at least a second after now (both are kept in whole seconds). AppID, DID and Format are required; an error wraps ErrKey.
func (k *Keyring) Issue(r Receipt, now time.Time) (string, error) {
	key, ok := k.key(k.ActiveID())
	if !ok {
		return "", fmt.Errorf("%w: no active key", ErrKey)
	}
	if r.AppID == "" || r.DID == "" || r.Format == "" {
		return "", fmt.Errorf("%w: app id, device id and format are required", ErrKey)
	}
	if r.ExpiresAt.Unix() <= now.Unix() {
		return "", fmt.Errorf("%w: expiry %s is not after %s", ErrKey, r.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	b, err := encodeBody(r, now.Unix(), r.ExpiresAt.Unix())
	if err != nil {
		return "", fmt.Errorf("%w: a field is longer than %d bytes", ErrKey, maxFieldLen)
	}
	signed := version + "." + k.active + "." + base64.RawURLEncoding.EncodeToString(b)
	s := signed + "." + base64.RawURLEncoding.EncodeToString(mac(key.Reveal(), signed))
	if len(s) > MaxLen {
		return "", fmt.Errorf("%w: receipt of %d characters, at most %d", ErrKey, len(s), MaxLen)
	}
	return s, nil
}

// Check verifies s: its length and shape, its key id (ErrUnknownKey), its
// MAC in constant time (ErrBadMAC), its body (ErrMalformed) and its expiry
// at now (ErrExpired). It does not compare the app, device, platform or
// policy: see Receipt.BoundTo, Receipt.ForPlatform and MeetsPolicy.
func (k *Keyring) Check(s string, now time.Time) (Receipt, error) {
	if len(s) > MaxLen {
		return Receipt{}, fmt.Errorf("%w: %d characters, at most %d", ErrMalformed, len(s), MaxLen)
	}
	ver, rest, ok1 := strings.Cut(s, ".")
	kid, rest, ok2 := strings.Cut(rest, ".")
	encBody, encMAC, ok3 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !ok3 || ver != version || strings.Contains(encMAC, ".") || !validKeyID(kid) {
		return Receipt{}, fmt.Errorf("%w: not r1.<kid>.<body>.<mac>", ErrMalformed)
	}
	key, ok := k.key(kid)
	if !ok {
		return Receipt{}, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	var got [macLen]byte
	if base64.RawURLEncoding.EncodedLen(macLen) != len(encMAC) {
		return Receipt{}, fmt.Errorf("%w: MAC of %d characters", ErrMalformed, len(encMAC))
	}
	if _, err := base64.RawURLEncoding.Decode(got[:], []byte(encMAC)); err != nil {
		return Receipt{}, fmt.Errorf("%w: MAC: %w", ErrMalformed, err)
	}
	if !hmac.Equal(got[:], mac(key.Reveal(), s[:len(s)-len(encMAC)-1])) {
		return Receipt{}, fmt.Errorf("%w", ErrBadMAC)
	}
	var raw [MaxLen]byte
	if base64.RawURLEncoding.DecodedLen(len(encBody)) > len(raw) {
		return Receipt{}, fmt.Errorf("%w: body too long", ErrMalformed)
	}
	n, err := base64.RawURLEncoding.Decode(raw[:], []byte(encBody))
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: body: %w", ErrMalformed, err)
	}
	r, err := decodeBody(raw[:n])
	if err != nil || r.AppID == "" || r.DID == "" || r.Format == "" || !r.ExpiresAt.After(r.IssuedAt) {
		return Receipt{}, fmt.Errorf("%w: body does not decode", ErrMalformed)
	}
	if !now.Before(r.ExpiresAt) {
		return Receipt{}, fmt.Errorf("%w: at %s", ErrExpired, r.ExpiresAt.Format(time.RFC3339))
	}
	return r, nil
}

func mac(key []byte, signed string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(macContext))
	h.Write([]byte(signed))
	return h.Sum(nil)
}

// BoundTo checks that r was issued for this app and this device key (did:
// b64u SHA-256 of its 65-byte point). An error wraps ErrBinding.
func (r Receipt) BoundTo(appID, did string) error {
	if r.AppID != appID {
		return fmt.Errorf("%w: issued for app %q", ErrBinding, r.AppID)
	}
	if r.DID != did {
		return fmt.Errorf("%w: issued for another device key", ErrBinding)
	}
	return nil
}
