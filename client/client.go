// Package client is the reference attestation SDK in Go: it holds the
// device key, asks the edge for a challenge, measures the app's code
// against the nonce, signs the evidence, attests, and keeps a fresh token
// (refreshing it before it expires). Mobile SDKs do the same steps; this
// package is what their behaviour is checked against, and what the tests,
// the load generator and `attestctl try` use.
//
// A *Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// App describes the app as the SDK inside it knows itself.
type App struct {
	ID       string
	Version  string
	Platform string // "android" or "ios"
	// Signer is the SHA-256 of the app's signing certificate (32 bytes).
	Signer []byte
	// CodeDigest is the digest of this version's code (32 bytes); the SDK
	// measures it against each nonce. A real SDK computes it from the code.
	CodeDigest []byte
}

// Config configures a Client.
type Config struct {
	// BaseURL of the edge, e.g. "http://127.0.0.1:8080".
	BaseURL string
	App     App
	// DeviceKey is the device's P-256 key; nil generates one.
	DeviceKey *ecdsa.PrivateKey
	// KeyEncoding of device.key: "spki" (default) or "raw" (65-byte point).
	KeyEncoding string
	// HTTP is the transport (HTTP/1.1 or HTTP/3); nil is a client with a
	// 10 s timeout.
	HTTP *http.Client
	// RefreshBefore: a cached token is renewed this long before it
	// expires (default 30 s, at most half its lifetime).
	RefreshBefore time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Enroll, when set, produces the platform's hardware evidence (Android
	// Key Attestation, Apple App Attest) for a nonce: the
	// platform_attestation object of docs/protocol.md §7. The client enrols when
	// it holds no receipt, keeps the receipt of a passing enrolment, and
	// sends it instead from then on until the edge answers
	// "platform_attestation": "required".
	Enroll func(ctx context.Context, nonce string) (json.RawMessage, error)
	// DebugToken, when set, is sent as debug_token with every attest
	// (docs/protocol.md §9): for emulators, CI runners and debug builds, which
	// no genuine-app check passes. It is a bearer credential: read it from
	// the environment or a CI secret, never build it into an app, and
	// never log it (the client never does).
	DebugToken string
	// PlayIntegrity, when set (Android apps that use Play Integrity, in
	// place of Enroll), is called with the nonce to pass to Play and
	// returns Play's token (docs/protocol.md §7); the client enrols with it as
	// with Enroll, and then uses the receipt.
	PlayIntegrity PlayIntegrityToken
}

// Client attests and caches the resulting token.
type Client struct {
	cfg Config
	key *ecdsa.PrivateKey
	att *Attester

	// tokens holds, as its one entry "", the latest attestation, whoever
	// asked for it.
	tokens *tokenCache

	mu      sync.Mutex
	receipt string
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("client: BaseURL is required")
	}
	if cfg.Enroll != nil && cfg.PlayIntegrity != nil {
		return nil, errors.New("client: set Enroll or PlayIntegrity, not both")
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.RefreshBefore == 0 {
		cfg.RefreshBefore = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	key := cfg.DeviceKey
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("client: device key: %w", err)
		}
		key = k
	}
	att, err := NewAttester(AttesterConfig{App: cfg.App, Key: key, KeyEncoding: cfg.KeyEncoding, DebugToken: cfg.DebugToken})
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, key: key, att: att, tokens: newTokenCache(cfg.Now, cfg.RefreshBefore, 0)}, nil
}

// DeviceKey returns the device's private key.
func (c *Client) DeviceKey() *ecdsa.PrivateKey { return c.key }

// DID returns the device id the edge derives from the key (b64u SHA-256 of
// the 65-byte point).
func (c *Client) DID() string {
	pub, _ := c.key.PublicKey.ECDH()
	sum := sha256.Sum256(pub.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Challenge asks the edge for a nonce.
func (c *Client) Challenge(ctx context.Context) (nonce string, expiresAt int64, err error) {
	var ch struct {
		Nonce     string `json:"nonce"`
		ExpiresAt int64  `json:"expires_at"`
	}
	if err := c.post(ctx, "/v1/challenge", []byte("{}"), nil, &ch); err != nil {
		return "", 0, fmt.Errorf("client: challenge: %w", err)
	}
	return ch.Nonce, ch.ExpiresAt, nil
}

// Result is an attest answer.
type Result struct {
	Token               string              `json:"token"`
	ExpiresAt           int64               `json:"expires_at"`
	Secrets             string              `json:"secrets,omitempty"`
	Pins                map[string][]string `json:"pins,omitempty"`
	Receipt             string              `json:"receipt,omitempty"`
	PlatformAttestation string              `json:"platform_attestation,omitempty"`
}

// Body builds the attest body for nonce and ev (Attester.AppendBody), with
// the client's receipt as platform_attestation when ev has none. It is for
// the tests and tools that send a body themselves: Attest does all this.
func (c *Client) Body(nonce string, ev Evidence) ([]byte, error) {
	if ev.PlatformAttestation == nil {
		if r := c.Receipt(); r != "" {
			ev.PlatformAttestation = receiptEvidence(r)
		}
	} else {
		// As json.Marshal would carry it: checked, compacted, HTML-safe.
		pa, err := json.Marshal(ev.PlatformAttestation)
		if err != nil {
			return nil, fmt.Errorf("client: platform_attestation: %w", err)
		}
		ev.PlatformAttestation = pa
	}
	return c.att.AppendBody(make([]byte, 0, 512+len(ev.PlatformAttestation)), nonce, &ev), nil
}

// receiptEvidence is the platform_attestation that stands for a receipt
// (docs/protocol.md §7).
func receiptEvidence(receipt string) json.RawMessage {
	b := appendString([]byte(`{"format":"receipt","receipt":`), receipt)
	return append(b, '}')
}

// Sign returns the Attest-Signature of body: b64u DER ECDSA over SHA-256.
func (c *Client) Sign(body []byte) (string, error) {
	sig, err := c.att.AppendSignature(nil, body, nil)
	return string(sig), err
}

// Attest runs one challenge and attest, whatever the cache holds, and
// caches the result.
func (c *Client) Attest(ctx context.Context, ev Evidence) (*Result, error) {
	res, err := c.attest(ctx, ev)
	if err != nil {
		return nil, err
	}
	c.tokens.put("", res)
	return res, nil
}

// attest is Attest without caching the token (the receipt is kept).
func (c *Client) attest(ctx context.Context, ev Evidence) (*Result, error) {
	nonce, _, err := c.Challenge(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.platformAttestation(ctx, nonce, &ev); err != nil {
		return nil, err
	}
	body, err := c.Body(nonce, ev)
	if err != nil {
		return nil, fmt.Errorf("client: body: %w", err)
	}
	sig, err := c.Sign(body)
	if err != nil {
		return nil, fmt.Errorf("client: sign: %w", err)
	}
	var res Result
	if err := c.post(ctx, "/v1/attest", body, map[string]string{"Attest-Signature": sig}, &res); err != nil {
		return nil, fmt.Errorf("client: attest: %w", err)
	}
	c.mu.Lock()
	if res.Receipt != "" {
		c.receipt = res.Receipt
	}
	if res.PlatformAttestation == "required" {
		c.receipt = "" // the edge wants a new enrolment
	}
	c.mu.Unlock()
	return &res, nil
}

// platformAttestation fills in ev.PlatformAttestation, when the caller left
// it nil, with the platform's evidence for nonce (Config.Enroll, or a Play
// Integrity token from Config.PlayIntegrity)
// if the client holds no receipt; with a receipt, Body sends it. This is
// where a platform's evidence provider plugs in.
func (c *Client) platformAttestation(ctx context.Context, nonce string, ev *Evidence) error {
	if ev.PlatformAttestation != nil || c.Receipt() != "" {
		return nil
	}
	var err error
	switch {
	case c.cfg.Enroll != nil:
		if ev.PlatformAttestation, err = c.cfg.Enroll(ctx, nonce); err != nil {
			return fmt.Errorf("client: enrol: %w", err)
		}
	case c.cfg.PlayIntegrity != nil:
		ev.PlatformAttestation, err = c.playEvidence(ctx, nonce)
	}
	return err
}

// Receipt returns the platform attestation receipt the client keeps.
func (c *Client) Receipt() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receipt
}

// Token returns a token that is valid for longer than RefreshBefore (or
// than half its lifetime, if that is shorter), attesting when the cached one
// is missing or about to expire. Concurrent callers share one attestation; a
// failed one is not cached, so the next call attests again. A caller whose
// ctx ends stops waiting, and the attestation goes on for the others.
func (c *Client) Token(ctx context.Context, ev Evidence) (*Result, error) {
	return c.tokens.get(ctx, "", func(ctx context.Context) (*Result, error) { return c.attest(ctx, ev) })
}

// Invalidate drops the cached token (e.g. after a backend refused it).
func (c *Client) Invalidate() { c.tokens.drop("") }

// latest is the Client's latest attestation result, or nil.
func (c *Client) latest() *Result { return c.tokens.peek("") }

// Error is an error answer of the edge.
type Error struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func (c *Client) post(ctx context.Context, path string, body []byte, hdr map[string]string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		return e
	}
	return json.Unmarshal(data, out)
}
