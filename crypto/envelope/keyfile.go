package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/attestd/attestd/crypto/secret"
)

const (
	// MaxKeyFileSize bounds a key file; ParseKeyFile refuses larger input
	// before reading it.
	MaxKeyFileSize = 64 << 10
	// MaxKeys bounds the number of keys in a key file.
	MaxKeys = 64
)

// keyFileHeader opens every file that NewKeyFile writes.
const keyFileHeader = "# attestd master key file: one key per line, <kid>:<base64 of 32 bytes>.\n" +
	"# The first key seals; every key listed opens. Keep this file mode 0600.\n"

// ParseKeyFile reads a master key file and returns its keyring.
//
// The format is line oriented (LF or CRLF). Each key is one line
// "<kid>:<b64 of 32 bytes>" (standard base64 with padding, 44 characters),
// kid being 1-32 characters of [A-Za-z0-9_-]. The first key line is the
// active key. Blank lines and lines whose first non-blank character is '#'
// are ignored; spaces and tabs around a line are trimmed. A file must hold
// 1 to MaxKeys keys with distinct ids and be at most MaxKeyFileSize bytes.
// Errors name the line number, never its content.
func ParseKeyFile(b []byte) (*Keyring, error) {
	ks, err := parseKeys(b)
	if err != nil {
		return nil, err
	}
	return ks.Keyring()
}

// parseKeys reads the key lines of a key file, in order.
func parseKeys(b []byte) (*KeySet, error) {
	if len(b) > MaxKeyFileSize {
		return nil, fmt.Errorf("key file: %d bytes: %w", len(b), ErrTooLarge)
	}
	ks := &KeySet{keys: make(map[string]secret.Value)}
	for n := 1; len(b) > 0; n++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		line = bytes.Trim(line, " \t\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		kid, key, err := parseKeyLine(line)
		if err != nil {
			return nil, fmt.Errorf("key file: line %d: %w", n, err)
		}
		if _, dup := ks.keys[kid]; dup {
			return nil, fmt.Errorf("key file: line %d: duplicate key id %q: %w", n, kid, ErrMalformed)
		}
		if len(ks.ids) == MaxKeys {
			return nil, fmt.Errorf("key file: more than %d keys: %w", MaxKeys, ErrMalformed)
		}
		ks.keys[kid] = key
		ks.ids = append(ks.ids, kid)
	}
	if len(ks.ids) == 0 {
		return nil, fmt.Errorf("key file: no keys: %w", ErrMalformed)
	}
	return ks, nil
}

func parseKeyLine(line []byte) (string, secret.Value, error) {
	kid, enc, ok := bytes.Cut(line, []byte(":"))
	if !ok || !validKeyID(string(kid)) {
		return "", secret.Value{}, fmt.Errorf("want <kid>:<base64 key>, kid 1-%d of [A-Za-z0-9_-]: %w", MaxKeyIDLen, ErrMalformed)
	}
	if len(enc) != base64.StdEncoding.EncodedLen(KeySize) {
		return "", secret.Value{}, fmt.Errorf("key %q: want %d base64 characters: %w", kid, base64.StdEncoding.EncodedLen(KeySize), ErrMalformed)
	}
	var raw [KeySize + 1]byte // room for the decoder's last quantum
	defer clear(raw[:])
	n, err := base64.StdEncoding.Strict().Decode(raw[:], enc)
	if err != nil || n != KeySize || bytes.ContainsAny(enc, "\r\n") {
		return "", secret.Value{}, fmt.Errorf("key %q: want standard base64 of %d bytes: %w", kid, KeySize, ErrMalformed)
	}
	return string(kid), secret.New(raw[:KeySize]), nil
}

// NewKeyFile returns the content of a new key file holding one fresh
// random key with id kid. rnd is the random source; nil means
// crypto/rand.Reader. The caller writes it with mode 0600.
func NewKeyFile(kid string, rnd io.Reader) ([]byte, error) {
	if !validKeyID(kid) {
		return nil, fmt.Errorf("key id %q: want 1-%d of [A-Za-z0-9_-]: %w", kid, MaxKeyIDLen, ErrConfig)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	var raw [KeySize]byte
	defer clear(raw[:])
	if _, err := io.ReadFull(rnd, raw[:]); err != nil {
		return nil, fmt.Errorf("key file: random source: %w", err)
	}
	out := make([]byte, 0, len(keyFileHeader)+len(kid)+2+base64.StdEncoding.EncodedLen(KeySize))
	out = append(out, keyFileHeader...)
	out = append(out, kid...)
	out = append(out, ':')
	out = base64.StdEncoding.AppendEncode(out, raw[:])
	out = append(out, '\n')
	return out, nil
}
