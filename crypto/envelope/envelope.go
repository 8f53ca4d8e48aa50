package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/attestd/attestd/crypto/secret"
)

const (
	// KeySize is the size in bytes of a master key (AES-256).
	KeySize = 32
	// MaxKeyIDLen is the longest key id.
	MaxKeyIDLen = 32
	// MaxPlaintext is the largest value Seal accepts: 1 MiB, under etcd's
	// 1.5 MiB value cap once sealed.
	MaxPlaintext = 1 << 20

	version   = "v1"
	nonceSize = 12
	tagSize   = 16
	overhead  = nonceSize + tagSize

	// MaxSealedLen is the longest sealed value Open reads; longer input is
	// refused before it is decoded.
	MaxSealedLen = len(version) + 1 + MaxKeyIDLen + 1 + (MaxPlaintext+overhead+2)/3*4
)

// Keyring holds master keys: the active one seals, all of them open. Build
// it with NewKeyring or ParseKeyFile. It is immutable and safe for
// concurrent use.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	// recordKeys are the record-authentication keys derived from each
	// master key (see RecordMAC); never the master keys themselves.
	recordKeys map[string][]byte
	enc        *base64.Encoding // RawURLEncoding.Strict()
}

// NewKeyring returns a keyring that seals with keys[active] and opens with
// any key in keys. Each key must be KeySize bytes; each id 1-32 characters
// of [A-Za-z0-9_-]. Every key is self-tested (sealed then opened) here.
func NewKeyring(active string, keys map[string]secret.Value) (*Keyring, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("active key %q is not listed: %w", active, ErrConfig)
	}
	kr := &Keyring{
		active:     active,
		aeads:      make(map[string]cipher.AEAD, len(keys)),
		recordKeys: make(map[string][]byte, len(keys)),
		enc:        base64.RawURLEncoding.Strict(),
	}
	for id, v := range keys {
		if !validKeyID(id) {
			return nil, fmt.Errorf("key id %q: want 1-%d of [A-Za-z0-9_-]: %w", id, MaxKeyIDLen, ErrConfig)
		}
		if v.Len() != KeySize {
			return nil, fmt.Errorf("key %q: want %d bytes, got %d: %w", id, KeySize, v.Len(), ErrConfig)
		}
		block, err := aes.NewCipher(v.Reveal())
		if err != nil {
			return nil, fmt.Errorf("key %q: %w: %w", id, ErrConfig, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w: %w", id, ErrConfig, err)
		}
		kr.aeads[id] = aead
		if kr.recordKeys[id], err = deriveRecordKey(v); err != nil {
			return nil, fmt.Errorf("key %q: %w: %w", id, ErrConfig, err)
		}
		if err := kr.selfTest(id); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// ActiveKeyID is the id of the key that seals.
func (kr *Keyring) ActiveKeyID() string { return kr.active }

// Seal encrypts plaintext under the active key, bound to name, and returns
// the printable sealed value. plaintext may be empty; it may not exceed
// MaxPlaintext.
func (kr *Keyring) Seal(plaintext []byte, name string) (string, error) {
	if len(plaintext) > MaxPlaintext {
		return "", fmt.Errorf("seal %q: %d bytes: %w", name, len(plaintext), ErrTooLarge)
	}
	ct := kr.aeads[kr.active].Seal(nil, nil, plaintext, aad(kr.active, name))
	var b strings.Builder
	b.Grow(len(version) + len(kr.active) + 2 + kr.enc.EncodedLen(len(ct)))
	b.WriteString(version + ":")
	b.WriteString(kr.active)
	b.WriteByte(':')
	b.WriteString(kr.enc.EncodeToString(ct))
	return b.String(), nil
}

// Open decrypts a sealed value that was sealed for name. It refuses input
// longer than MaxSealedLen before decoding it.
func (kr *Keyring) Open(sealed string, name string) (secret.Value, error) {
	if len(sealed) > MaxSealedLen {
		return secret.Value{}, fmt.Errorf("open %q: %d bytes: %w", name, len(sealed), ErrTooLarge)
	}
	kid, body, ok := split(sealed)
	if !ok || !validB64u(body) {
		return secret.Value{}, fmt.Errorf("open %q: %w", name, ErrMalformed)
	}
	aead := kr.aeads[kid]
	if aead == nil {
		return secret.Value{}, fmt.Errorf("open %q: key %q: %w", name, kid, ErrUnknownKey)
	}
	ct, err := kr.enc.DecodeString(body)
	if err != nil || len(ct) < overhead {
		return secret.Value{}, fmt.Errorf("open %q: %w", name, ErrMalformed)
	}
	pt, err := aead.Open(ct[:0], nil, ct, aad(kid, name))
	if err != nil {
		return secret.Value{}, fmt.Errorf("open %q: %w", name, ErrDecrypt)
	}
	v := secret.New(pt)
	clear(pt)
	return v, nil
}

// selfTest seals and opens a probe with key id, as a check of what was
// loaded.
func (kr *Keyring) selfTest(id string) error {
	aead := kr.aeads[id]
	ct := aead.Seal(nil, nil, []byte("attestd envelope self-test"), aad(id, "self-test"))
	if _, err := aead.Open(nil, nil, ct, aad(id, "self-test")); err != nil {
		return fmt.Errorf("key %q failed its self-test: %w", id, ErrConfig)
	}
	return nil
}

// aad is the GCM additional data: the sealed value's own prefix and the
// name it belongs to.
func aad(kid, name string) []byte {
	return []byte(version + ":" + kid + ":" + name)
}

// split parses "v1:" KID ":" BODY.
func split(s string) (kid, body string, ok bool) {
	rest, ok := strings.CutPrefix(s, version+":")
	if !ok {
		return "", "", false
	}
	kid, body, ok = strings.Cut(rest, ":")
	if !ok || !validKeyID(kid) || len(body) == 0 {
		return "", "", false
	}
	return kid, body, true
}

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isURLChar(id[i]) {
			return false
		}
	}
	return true
}

// validB64u reports whether s is all base64url characters; the decoder
// would skip CR and LF, and a sealed value has one spelling only.
func validB64u(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isURLChar(s[i]) {
			return false
		}
	}
	return true
}

// isURLChar reports whether c is in [A-Za-z0-9_-].
func isURLChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
