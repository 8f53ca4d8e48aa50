// Package debugtoken makes and recognises attestd's debug tokens
// (PROTOCOL.md §11): bearer credentials for emulators, CI runners and
// debug builds, which waive the genuine-app checks of one app.
//
// A token is "adt_" followed by b64u of 32 random bytes (47 characters).
// The store never holds a token: it holds MAC(key, token), an
// HMAC-SHA256 under a deployment key with a label of its own, and the
// edge finds a token by recomputing its MAC and looking that up. The MAC
// is a one-way function of a 256-bit secret, so a copy of the store (or of
// the MAC key) does not give a token back.
//
// Who may import: the registry (lookup), attestctl's store code (add), and
// tests. It imports only the standard library and does no I/O but reading
// the randomness it is given.
package debugtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Prefix starts every debug token.
const Prefix = "adt_"

// Size is the length of a token: Prefix and b64u of 32 bytes.
const Size = len(Prefix) + 43

// MACSize is the size of a token's MAC.
const MACSize = sha256.Size

// KeyBytes is the size of the MAC key.
const KeyBytes = 32

// label separates these MACs from any other use of the key.
const label = "attestd debug token v1\x00"

// ErrKey: the MAC key is not KeyBytes long.
var ErrKey = errors.New("debugtoken: MAC key must be 32 bytes")

// New returns a new token, from 32 bytes of rnd.
func New(rnd io.Reader) (string, error) {
	var raw [32]byte
	if _, err := io.ReadFull(rnd, raw[:]); err != nil {
		return "", fmt.Errorf("debugtoken: random: %w", err)
	}
	b := make([]byte, Size)
	copy(b, Prefix)
	base64.RawURLEncoding.Encode(b[len(Prefix):], raw[:])
	clear(raw[:])
	return string(b), nil
}

// WellFormed reports whether tok has the shape of a token: Prefix, then 43
// b64u characters that decode canonically to 32 bytes. Its time depends on
// tok alone (the sender's own bytes), never on a stored token.
func WellFormed(tok []byte) bool {
	if len(tok) != Size {
		return false
	}
	ok := 1
	for i := 0; i < len(Prefix); i++ {
		ok &= eq(tok[i], Prefix[i])
	}
	var raw [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], tok[len(Prefix):])
	clear(raw[:])
	if err != nil || n != 32 {
		ok = 0
	}
	return ok == 1
}

func eq(a, b byte) int {
	x := uint32(a ^ b)
	return int((x - 1) >> 31)
}

// MAC is the MAC the store keeps for tok, under key (KeyBytes). It is
// computed for any tok, well-formed or not, in time that depends only on
// len(tok); a lookup by MAC then learns nothing of how close a guess is to
// a stored token.
func MAC(key, tok []byte) ([MACSize]byte, error) {
	var out [MACSize]byte
	if len(key) != KeyBytes {
		return out, ErrKey
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(tok)
	m.Sum(out[:0])
	return out, nil
}
