package appleattest

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

// Environments an attestation can come from, by its aaguid.
const (
	EnvProduction  = "production"
	EnvDevelopment = "development"

	aaguidProduction  = "appattest\x00\x00\x00\x00\x00\x00\x00"
	aaguidDevelopment = "appattestdevelop"
)

// Input is the evidence of one request and what it must match.
type Input struct {
	// KeyID is the request's key_id (raw bytes, 32).
	KeyID []byte
	// Attestation is the CBOR attestation object (raw bytes).
	Attestation []byte
	// ClientDataHash is SHA-256 of the client data, which PROTOCOL.md §7
	// defines from the nonce and the device key; the caller computes it.
	ClientDataHash [32]byte
	// TeamID and AppID are the app's team id and bundle id.
	TeamID, AppID string
}

// Policy is the app's policy for App Attest evidence. The zero value
// accepts the production environment only.
type Policy struct {
	// AllowDevelopment accepts the development aaguid.
	AllowDevelopment bool
}

// Result is what a passing verification found.
type Result struct {
	Format      string // always Format
	Environment string // EnvProduction or EnvDevelopment
}

// Verify checks an App Attest attestation object as PROTOCOL.md §7 and
// Apple's documentation ask, in Apple's order: the x5c chain to one of roots
// at now, by x509chain.VerifyDER as for android-key (allow-list first, anchor,
// signatures from the anchor down, dates between anchor and credential
// certificate), the nonce, the key id against the credential key, rpIdHash,
// counter, aaguid, credential id. The first failing check answers, with an
// error wrapping one of this package's sentinels (see Reason).
func Verify(in Input, p Policy, roots []*x509.Certificate, now time.Time) (Result, error) {
	obj, err := ParseAttestationObject(in.Attestation)
	if err != nil {
		return Result{}, err
	}
	certs, err := x509chain.VerifyDER(obj.X5C, roots, now)
	if err != nil {
		return Result{}, chainError(err)
	}
	cred := certs[0]
	if err := checkNonce(cred, obj.RawAuthData, in.ClientDataHash); err != nil {
		return Result{}, err
	}
	if err := checkKeyID(cred, in.KeyID); err != nil {
		return Result{}, err
	}
	ad := obj.AuthData
	rpID := sha256.Sum256([]byte(in.TeamID + "." + in.AppID))
	if in.TeamID == "" || subtle.ConstantTimeCompare(ad.RPIDHash[:], rpID[:]) != 1 {
		return Result{}, fmt.Errorf("%w: not SHA-256(%q)", ErrRPID, in.TeamID+"."+in.AppID)
	}
	if ad.Counter != 0 {
		return Result{}, fmt.Errorf("%w: %d", ErrCounter, ad.Counter)
	}
	env, err := environment(ad.AAGUID, p.AllowDevelopment)
	if err != nil {
		return Result{}, err
	}
	if subtle.ConstantTimeCompare(ad.CredentialID, in.KeyID) != 1 {
		return Result{}, fmt.Errorf("%w: credential id is not the key id", ErrKeyID)
	}
	return Result{Format: Format, Environment: env}, nil
}

// checkNonce compares the credential certificate's nonce extension,
// SEQUENCE { [1] EXPLICIT OCTET STRING }, with SHA-256(authData ‖ clientDataHash).
func checkNonce(cred *x509.Certificate, authData []byte, cdh [32]byte) error {
	oid := asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 8, 2}
	var value []byte
	for _, e := range cred.Extensions {
		if e.Id.Equal(oid) {
			value = e.Value
		}
	}
	if value == nil {
		return fmt.Errorf("%w: no nonce extension", ErrNonce)
	}
	var ext struct {
		Nonce []byte `asn1:"tag:1,explicit"`
	}
	rest, err := asn1.Unmarshal(value, &ext)
	if err != nil || len(rest) != 0 {
		return fmt.Errorf("%w: nonce extension does not decode", ErrNonce)
	}
	h := sha256.New()
	h.Write(authData)
	h.Write(cdh[:])
	if subtle.ConstantTimeCompare(ext.Nonce, h.Sum(nil)) != 1 {
		return fmt.Errorf("%w: not SHA-256(authData || clientDataHash)", ErrNonce)
	}
	return nil
}

// checkKeyID compares the key id with SHA-256 of the credential key's
// 65-byte uncompressed point.
func checkKeyID(cred *x509.Certificate, keyID []byte) error {
	k, ok := cred.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return fmt.Errorf("%w: the credential key is not a P-256 key", ErrKeyID)
	}
	ek, err := k.ECDH()
	if err != nil {
		return fmt.Errorf("%w: credential key: %w", ErrKeyID, err)
	}
	sum := sha256.Sum256(ek.Bytes())
	if subtle.ConstantTimeCompare(sum[:], keyID) != 1 {
		return fmt.Errorf("%w: key id is not SHA-256 of the credential key", ErrKeyID)
	}
	return nil
}

func environment(aaguid [16]byte, allowDevelopment bool) (string, error) {
	switch string(aaguid[:]) {
	case aaguidProduction:
		return EnvProduction, nil
	case aaguidDevelopment:
		if allowDevelopment {
			return EnvDevelopment, nil
		}
		return "", fmt.Errorf("%w: development environment not allowed", ErrAAGUID)
	}
	return "", fmt.Errorf("%w: unknown aaguid %x", ErrAAGUID, aaguid)
}
