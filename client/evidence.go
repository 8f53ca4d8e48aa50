package client

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The attest body (docs/protocol.md §2) is built in one place: Attester. The
// Client, the load generator and the tests all send what it appends.

// Integrity are the SDK's own integrity findings.
type Integrity struct {
	Rooted   bool `json:"rooted"`
	Debugger bool `json:"debugger"`
	Hooked   bool `json:"hooked"`
	Emulator bool `json:"emulator"`
}

// Evidence is what one attest sends beyond the app, the device key and the
// debug token.
type Evidence struct {
	Integrity Integrity
	// Binding is a value the token is bound to (e.g. an Authorization
	// header); sent as b64u SHA-256 of it.
	Binding []byte
	// WantSecrets asks for the runtime secrets (JWE).
	WantSecrets bool
	// PlatformAttestation is the raw platform_attestation object (docs/protocol.md
	// §7). Left nil, Client.Attest fills it in: from Config.Enroll when the
	// client holds no receipt, else with the receipt.
	PlatformAttestation json.RawMessage
	// PoP asks for a token bound to the device key (docs/protocol.md §10): its
	// cnf is the device key, and requests that carry it must be signed
	// with it (SignRequest; the Transport does it with
	// TransportConfig.ProofOfPossession).
	PoP bool
}

// AttesterConfig says what an Attester sends about itself.
type AttesterConfig struct {
	App App
	// Key is the device's P-256 key (required).
	Key *ecdsa.PrivateKey
	// KeyEncoding of device.key: "spki" (default) or "raw" (65-byte point).
	KeyEncoding string
	// DebugToken, when set, is sent as debug_token in every body
	// (docs/protocol.md §9).
	DebugToken string
}

// An Attester is one app on one device as the SDK holds them: it builds the
// attest bodies of docs/protocol.md §2 and signs them, and does no I/O. It is
// immutable and safe for concurrent use. A Client has one; the load
// generator keeps one per device and app it claims to be.
type Attester struct {
	app        App
	key        *ecdsa.PrivateKey
	keyB64     string // device.key as sent
	signerB64  string // app.signer as sent
	debugToken string
}

// NewAttester checks cfg and returns its Attester.
func NewAttester(cfg AttesterConfig) (*Attester, error) {
	if cfg.Key == nil {
		return nil, errors.New("client: device key is required")
	}
	if len(cfg.App.Signer) != 32 || len(cfg.App.CodeDigest) != 32 {
		return nil, errors.New("client: App.Signer and App.CodeDigest must be 32 bytes")
	}
	var enc []byte
	switch cfg.KeyEncoding {
	case "", "spki":
		der, err := x509.MarshalPKIXPublicKey(&cfg.Key.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("client: device key: %w", err)
		}
		enc = der
	case "raw":
		pub, err := cfg.Key.PublicKey.ECDH()
		if err != nil {
			return nil, fmt.Errorf("client: device key: %w", err)
		}
		enc = pub.Bytes()
	default:
		return nil, fmt.Errorf("client: KeyEncoding %q: want spki or raw", cfg.KeyEncoding)
	}
	return &Attester{
		app: cfg.App, key: cfg.Key, debugToken: cfg.DebugToken,
		keyB64:    base64.RawURLEncoding.EncodeToString(enc),
		signerB64: base64.RawURLEncoding.EncodeToString(cfg.App.Signer),
	}, nil
}

// AppendBody appends the attest body for nonce and ev to dst and returns the
// extended slice. Members come in the order of docs/protocol.md §2 (nonce, app,
// device, then the optional ones, each only when set); strings are escaped
// as encoding/json escapes them. ev.PlatformAttestation is copied as it is
// and must be valid JSON (Client.Body checks it). With room in dst and a
// nonce of at most 128 bytes (every nonce docs/protocol.md §1 allows),
// AppendBody allocates nothing.
func (a *Attester) AppendBody(dst []byte, nonce string, ev *Evidence) []byte {
	dst = append(dst, `{"nonce":`...)
	dst = appendString(dst, nonce)
	dst = append(dst, `,"app":{"id":`...)
	dst = appendString(dst, a.app.ID)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, a.app.Version)
	dst = append(dst, `,"platform":`...)
	dst = appendString(dst, a.app.Platform)
	dst = append(dst, `,"signer":"`...)
	dst = append(dst, a.signerB64...)
	dst = append(dst, `","measurement":"`...)
	dst = appendMeasurement(dst, a.app.CodeDigest, nonce)
	dst = append(dst, `"},"device":{"key":"`...)
	dst = append(dst, a.keyB64...)
	dst = append(dst, `","integrity":`...)
	dst = ev.Integrity.appendJSON(dst)
	dst = append(dst, '}')
	if ev.PlatformAttestation != nil {
		dst = append(dst, `,"platform_attestation":`...)
		dst = append(dst, ev.PlatformAttestation...)
	}
	if ev.Binding != nil {
		sum := sha256.Sum256(ev.Binding)
		dst = append(dst, `,"binding":"`...)
		dst = base64.RawURLEncoding.AppendEncode(dst, sum[:])
		dst = append(dst, '"')
	}
	if ev.WantSecrets {
		dst = append(dst, `,"want_secrets":true`...)
	}
	if a.debugToken != "" {
		dst = append(dst, `,"debug_token":`...)
		dst = appendString(dst, a.debugToken)
	}
	if ev.PoP {
		dst = append(dst, `,"pop":true`...)
	}
	return append(dst, '}')
}

// AppendSignature appends the Attest-Signature of body to dst: b64u of the
// DER ECDSA signature over SHA-256 of the exact bytes. rnd nil is
// crypto/rand (Go ignores any other since 1.26; see ecdsa.SignASN1).
func (a *Attester) AppendSignature(dst, body []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rnd, a.key, sum[:])
	if err != nil {
		return dst, err
	}
	return base64.RawURLEncoding.AppendEncode(dst, sig), nil
}

func (in Integrity) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"rooted":`...)
	dst = strconv.AppendBool(dst, in.Rooted)
	dst = append(dst, `,"debugger":`...)
	dst = strconv.AppendBool(dst, in.Debugger)
	dst = append(dst, `,"hooked":`...)
	dst = strconv.AppendBool(dst, in.Hooked)
	dst = append(dst, `,"emulator":`...)
	dst = strconv.AppendBool(dst, in.Emulator)
	return append(dst, '}')
}

// maxNonce is the longest nonce docs/protocol.md §1 allows.
const maxNonce = 128

// Measure returns b64u HMAC-SHA256(key = code digest, message = nonce).
func Measure(codeDigest []byte, nonce string) string {
	return string(appendMeasurement(nil, codeDigest, nonce))
}

// appendMeasurement appends Measure(codeDigest, nonce) to dst. For a digest
// of at most one SHA-256 block and a nonce of at most maxNonce bytes it
// computes the HMAC on the stack (RFC 2104: H(K^opad || H(K^ipad || m)),
// K zero-padded to the block), allocating nothing; otherwise it uses
// crypto/hmac.
func appendMeasurement(dst, codeDigest []byte, nonce string) []byte {
	if len(codeDigest) > sha256.BlockSize || len(nonce) > maxNonce {
		m := hmac.New(sha256.New, codeDigest)
		m.Write([]byte(nonce))
		return base64.RawURLEncoding.AppendEncode(dst, m.Sum(nil))
	}
	var inner [sha256.BlockSize + maxNonce]byte
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(inner[:], codeDigest)
	copy(outer[:], codeDigest)
	for i := range sha256.BlockSize {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	n := copy(inner[sha256.BlockSize:], nonce)
	h := sha256.Sum256(inner[:sha256.BlockSize+n])
	copy(outer[sha256.BlockSize:], h[:])
	mac := sha256.Sum256(outer[:])
	return base64.RawURLEncoding.AppendEncode(dst, mac[:])
}
