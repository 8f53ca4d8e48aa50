package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// PlayIntegrityToken is the hook an Android app gives the SDK to enrol
// with Play Integrity (docs/protocol.md §7), set as Config.PlayIntegrity. The
// SDK cannot ask Play itself: it calls the hook with the nonce to pass to
// Play, and the hook returns the token Play gave for it. In Kotlin:
//
//	integrityManager.requestIntegrityToken(
//	    IntegrityTokenRequest.builder().setNonce(playNonce).build()
//	).await().token()
type PlayIntegrityToken func(ctx context.Context, playNonce string) (token string, err error)

// PlayIntegrityNonce is the nonce an app passes to Play for the attestd
// nonce and its device key: b64u(SHA-256(nonce ASCII bytes ‖ device key as
// SPKI DER)), 43 characters of the URL-safe alphabet without padding, as
// Play wants it. The device key is taken as its SPKI DER whichever
// encoding of device.key the app sends (Config.KeyEncoding).
func PlayIntegrityNonce(nonce string, device *ecdsa.PublicKey) (string, error) {
	spki, err := x509.MarshalPKIXPublicKey(device)
	if err != nil {
		return "", fmt.Errorf("client: device key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(nonce))
	h.Write(spki)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), nil
}

// PlayIntegrityNonce is the package function for this client's device key.
func (c *Client) PlayIntegrityNonce(nonce string) (string, error) {
	return PlayIntegrityNonce(nonce, &c.key.PublicKey)
}

// PlayIntegrityEvidence is the platform_attestation object that carries a
// Play Integrity token: {"format": "play-integrity", "token": token}.
func PlayIntegrityEvidence(token string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"format": "play-integrity", "token": token})
	return b
}

// errPlayEmpty: the hook returned no token and no error.
var errPlayEmpty = errors.New("client: the Play Integrity hook returned an empty token")

// playEvidence asks the hook for a token bound to nonce and this device
// key, and wraps it as platform_attestation.
func (c *Client) playEvidence(ctx context.Context, nonce string) (json.RawMessage, error) {
	pn, err := c.PlayIntegrityNonce(nonce)
	if err != nil {
		return nil, err
	}
	tok, err := c.cfg.PlayIntegrity(ctx, pn)
	if err != nil {
		return nil, fmt.Errorf("client: play integrity: %w", err)
	}
	if tok == "" {
		return nil, errPlayEmpty
	}
	return PlayIntegrityEvidence(tok), nil
}
