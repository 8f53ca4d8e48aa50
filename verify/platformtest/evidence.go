package platformtest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"

	"github.com/attestd/attestd/verify/androidkey"
)

// AndroidEvidence returns the platform_attestation object (PROTOCOL.md §7)
// of an android-key enrolment: a TEE key, verified boot, a locked device,
// challenge SHA-256(nonce), for package pkg signed by signer.
func (a *AndroidCA) AndroidEvidence(device *ecdsa.PublicKey, nonce []byte, pkg string, signer [32]byte) ([]byte, error) {
	return a.LeafEvidence(AndroidLeaf{DeviceKey: device, Challenge: AndroidChallenge(nonce), Package: pkg, Signer: signer,
		AttestationSecurity: androidkey.LevelTEE, KeyMintSecurity: androidkey.LevelTEE, BootState: androidkey.BootVerified})
}

// LeafEvidence returns the platform_attestation object of the chain Issue
// makes for l.
func (a *AndroidCA) LeafEvidence(l AndroidLeaf) ([]byte, error) {
	chain, err := a.Issue(l)
	if err != nil {
		return nil, err
	}
	enc := make([]string, len(chain))
	for i, c := range chain {
		enc[i] = base64.RawURLEncoding.EncodeToString(c)
	}
	return json.Marshal(map[string]any{"format": "android-key", "chain": enc})
}

// AppleEvidence returns the platform_attestation object of an
// apple-appattest enrolment bound to nonce and the device key (client data
// hash = SHA-256(nonce ‖ device key as SPKI DER)), for teamID.appID, in the
// development environment when dev is set.
func (a *AppleCA) AppleEvidence(device *ecdsa.PublicKey, nonce []byte, teamID, appID string, dev bool) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(device)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(nonce)
	h.Write(spki)
	var cdh [32]byte
	h.Sum(cdh[:0])
	aaguid := AAGUIDProduction
	if dev {
		aaguid = AAGUIDDevelopment
	}
	keyID, obj, err := a.Attest(AppleAttestation{ClientDataHash: cdh, TeamID: teamID, AppID: appID, AAGUID: aaguid})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"format": "apple-appattest",
		"key_id": base64.RawURLEncoding.EncodeToString(keyID), "attestation": base64.RawURLEncoding.EncodeToString(obj)})
}
