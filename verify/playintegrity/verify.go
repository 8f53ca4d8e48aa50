package playintegrity

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// MaxAhead is how far after now a token's timestamp may be: the clocks of
// Play's servers and of the edge differ a little (§10: 60 s).
const MaxAhead = 60 * time.Second

// Input is what a token must match: the attest request's nonce, device key
// and app. Slices are only read during the call.
type Input struct {
	// Token is the compact JWE as sent.
	Token string
	// Nonce is the attestd nonce, its ASCII bytes as sent.
	Nonce []byte
	// DeviceSPKI is the device key as SPKI DER, whichever encoding of
	// device.key the request sent (§10).
	DeviceSPKI []byte
	AppID      string
	// Signer is the request's app.signer: SHA-256 of the app's signing
	// certificate, raw.
	Signer [32]byte
}

// Nonce is the nonce an app passes to Play for the attestd nonce and its
// device key (§10): b64u(SHA-256(nonce ASCII bytes ‖ device key as SPKI
// DER)), 43 characters.
func Nonce(attestdNonce, deviceSPKI []byte) string {
	d := nonceDigest(attestdNonce, deviceSPKI)
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func nonceDigest(attestdNonce, deviceSPKI []byte) [32]byte {
	h := sha256.New()
	h.Write(attestdNonce)
	h.Write(deviceSPKI)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Verify opens in.Token with keys (Open), reads its payload (ParsePayload)
// and checks it (Check). maxAge is the deployment's nonce lifetime.
func Verify(in Input, keys *KeySet, p Policy, maxAge time.Duration, now time.Time) (Verdicts, error) {
	payload, err := keys.Open(in.Token)
	if err != nil {
		return Verdicts{}, err
	}
	pl, err := ParsePayload(payload)
	if err != nil {
		return Verdicts{}, err
	}
	return Check(pl, in, p, maxAge, now)
}

// Check checks a payload against the request and the policy, in §10's
// order: requestDetails.requestPackageName and appIntegrity.packageName
// are in.AppID (ErrApp); requestDetails.nonce is Nonce(in.Nonce,
// in.DeviceSPKI) (ErrNonce); timestampMillis is at most maxAge before now
// and at most MaxAhead after it (ErrStale); appIntegrity's
// certificateSha256Digest holds in.Signer (ErrApp); then the verdicts meet
// p (Verdicts.Meets). It returns the verdicts found.
func Check(pl *Payload, in Input, p Policy, maxAge time.Duration, now time.Time) (Verdicts, error) {
	rd := pl.RequestDetails
	if rd == nil || rd.TimestampMillis == nil {
		return Verdicts{}, fmt.Errorf("%w: no requestDetails.timestampMillis", ErrMalformed)
	}
	if rd.RequestPackageName != in.AppID || pl.AppIntegrity.PackageName != in.AppID {
		return Verdicts{}, fmt.Errorf("%w: package names %.128q and %.128q, want %q",
			ErrApp, rd.RequestPackageName, pl.AppIntegrity.PackageName, in.AppID)
	}
	want := nonceDigest(in.Nonce, in.DeviceSPKI)
	if rd.Nonce == nil || !digestIs(*rd.Nonce, &want) {
		return Verdicts{}, fmt.Errorf("%w: requestDetails.nonce is not the one of this nonce and device key", ErrNonce)
	}
	ts := time.UnixMilli(int64(*rd.TimestampMillis))
	if ts.Before(now.Add(-maxAge)) || ts.After(now.Add(MaxAhead)) {
		return Verdicts{}, fmt.Errorf("%w: timestamp %s, now %s, window -%v/+%v",
			ErrStale, ts.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), maxAge, MaxAhead)
	}
	found := 0
	for _, d := range pl.AppIntegrity.CertificateSha256Digest {
		if digestIs(d, &in.Signer) {
			found = 1
		}
	}
	if found == 0 {
		return Verdicts{}, fmt.Errorf("%w: certificateSha256Digest (%d) does not hold app.signer", ErrApp, len(pl.AppIntegrity.CertificateSha256Digest))
	}
	v := pl.Verdicts()
	if err := v.Meets(p); err != nil {
		return Verdicts{}, err
	}
	return v, nil
}

// digestIs reports whether s, b64u of 32 bytes with or without padding,
// decodes to want (compared in constant time).
func digestIs(s string, want *[32]byte) bool {
	s = strings.TrimSuffix(s, "=")
	if base64.RawURLEncoding.DecodedLen(len(s)) != len(want) {
		return false
	}
	var got [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(got[:], []byte(s))
	return err == nil && n == len(want) && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
