// Package playtest makes Play Integrity tokens the way Google makes them
// (PROTOCOL.md §10), with keys of its own, for tests and benchmarks: a
// verdict payload signed ES256 into a compact JWS, encrypted A256KW /
// A256GCM into a compact JWE, with go-jose as the encoder. It also makes
// the tokens Google never makes (other algorithms, compression, extra
// headers) that verifiers must refuse.
//
// Only tests, benchmarks and end-to-end tests import it.
package playtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/verify/playintegrity"
)

// Issuer holds one pair of response encryption keys, as Play Console
// would: the AES-256 key and the P-256 signing key whose public half the
// app's owner downloads.
type Issuer struct {
	DecryptionKey []byte
	SigningKey    *ecdsa.PrivateKey
}

// NewIssuer makes a fresh pair.
func NewIssuer() (*Issuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	dec := make([]byte, playintegrity.DecryptionKeySize)
	if _, err := rand.Read(dec); err != nil {
		return nil, err
	}
	return &Issuer{DecryptionKey: dec, SigningKey: k}, nil
}

// DecryptionKeyB64 is the decryption key as Play Console gives it and a
// bundle holds it: standard base64.
func (i *Issuer) DecryptionKeyB64() string {
	return base64.StdEncoding.EncodeToString(i.DecryptionKey)
}

// VerificationKeyB64 is the verification key as Play Console gives it:
// standard base64 of its SPKI DER.
func (i *Issuer) VerificationKeyB64() string {
	der, err := x509.MarshalPKIXPublicKey(&i.SigningKey.PublicKey)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return base64.StdEncoding.EncodeToString(der)
}

// KeyPair is the issuer's pair as the verifier reads it.
func (i *Issuer) KeyPair() playintegrity.KeyPair {
	p, err := playintegrity.NewKeyPair([]byte(i.DecryptionKeyB64()), []byte(i.VerificationKeyB64()))
	if err != nil {
		panic(err)
	}
	return p
}

// KeySet is a set of the issuer's pair alone.
func (i *Issuer) KeySet() *playintegrity.KeySet {
	s, err := playintegrity.NewKeySet(i.KeyPair())
	if err != nil {
		panic(err)
	}
	return s
}

// Token is payload signed and encrypted as Google does it.
func (i *Issuer) Token(payload []byte) (string, error) {
	jws, err := SignJWS(jose.ES256, i.SigningKey, payload, nil)
	if err != nil {
		return "", err
	}
	return EncryptJWE(jose.A256KW, jose.A256GCM, i.DecryptionKey, []byte(jws), nil)
}

// SignJWS signs payload into a compact JWS with alg and key, and the extra
// protected header members of extra.
func SignJWS(alg jose.SignatureAlgorithm, key any, payload []byte, extra map[jose.HeaderKey]any) (string, error) {
	opts := &jose.SignerOptions{ExtraHeaders: extra}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// EncryptJWE encrypts plaintext into a compact JWE with alg, enc and key,
// and the extra protected header members of extra; opts, when not nil,
// is used as given (compression, say).
func EncryptJWE(alg jose.KeyAlgorithm, enc jose.ContentEncryption, key any, plaintext []byte, opts *jose.EncrypterOptions) (string, error) {
	e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	obj, err := e.Encrypt(plaintext)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// UnsecuredJWS is a compact JWS with alg "none" and no signature.
func UnsecuredJWS(payload []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
}

// Verdict is a Play Integrity verdict with the fields §10 reads. JSON lays
// it out as Google does, with the members §10 does not read.
type Verdict struct {
	RequestPackageName string
	PackageName        string
	Nonce              string
	// Timestamp is sent in milliseconds, as a decimal string unless
	// TimestampAsNumber.
	Timestamp         time.Time
	TimestampAsNumber bool
	AppRecognition    string
	CertDigests       []string
	DeviceLabels      []string
	Licensing         string
	PlayProtect       string
	// Edit, when set, changes the payload's members before they are
	// encoded (to remove one, say).
	Edit func(payload map[string]any)
}

// Pass is the verdict of a genuine app on a genuine device, strong labels
// and all, for the attestd nonce and device key (SPKI DER) at now.
func Pass(appID string, signer [32]byte, attestdNonce, deviceSPKI []byte, now time.Time) Verdict {
	return Verdict{
		RequestPackageName: appID, PackageName: appID,
		Nonce:          playintegrity.Nonce(attestdNonce, deviceSPKI),
		Timestamp:      now,
		AppRecognition: "PLAY_RECOGNIZED",
		CertDigests:    []string{base64.RawURLEncoding.EncodeToString(signer[:])},
		DeviceLabels:   []string{"MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY", "MEETS_STRONG_INTEGRITY"},
		Licensing:      "LICENSED",
		PlayProtect:    "NO_ISSUES",
	}
}

// JSON is the verdict's payload, as Play lays it out.
func (v Verdict) JSON() []byte {
	var ts any = fmt.Sprint(v.Timestamp.UnixMilli())
	if v.TimestampAsNumber {
		ts = v.Timestamp.UnixMilli()
	}
	sum := sha256.Sum256([]byte(v.PackageName))
	m := map[string]any{
		"requestDetails": map[string]any{
			"requestPackageName": v.RequestPackageName, "timestampMillis": ts, "nonce": v.Nonce,
		},
		"appIntegrity": map[string]any{
			"appRecognitionVerdict": v.AppRecognition, "packageName": v.PackageName,
			"certificateSha256Digest": v.CertDigests, "versionCode": "421",
		},
		"deviceIntegrity": map[string]any{
			"deviceRecognitionVerdict": v.DeviceLabels,
			"recentDeviceActivity":     map[string]any{"deviceActivityLevel": "LEVEL_2"},
			"deviceAttributes":         map[string]any{"sdkVersion": 35},
		},
		"accountDetails": map[string]any{"appLicensingVerdict": v.Licensing},
		"environmentDetails": map[string]any{
			"playProtectVerdict":   v.PlayProtect,
			"appAccessRiskVerdict": map[string]any{"appsDetected": []string{"KNOWN_INSTALLED", "UNKNOWN_INSTALLED"}},
		},
		"testingDetails": map[string]any{"isTestingResponse": false, "packageDigest": base64.RawURLEncoding.EncodeToString(sum[:])},
	}
	if v.Edit != nil {
		v.Edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
