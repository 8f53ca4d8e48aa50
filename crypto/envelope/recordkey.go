package envelope

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/attestd/attestd/crypto/secret"
)

// RecordKeyInfo is the HKDF info label of the record-authentication key: a
// label of its own, so the key derived for records is independent of the
// master key (which AES-GCM uses as it is) and of any other key a future
// version derives from it.
const RecordKeyInfo = "attestd record authentication v1"

// RecordKeySize is the size in bytes of a record-authentication key.
const RecordKeySize = 32

// deriveRecordKey derives the record-authentication key of one master key:
// HKDF-SHA256 (RFC 5869) with the master key as input keying material, no
// salt (the master key is uniformly random), and info RecordKeyInfo.
func deriveRecordKey(master secret.Value) ([]byte, error) {
	return hkdf.Key(sha256.New, master.Reveal(), nil, RecordKeyInfo, RecordKeySize)
}

// RecordMAC returns a new HMAC-SHA256 keyed with the record-authentication
// key of master key kid (PROTOCOL §8, 1.1: every record of a store is
// authenticated under a key derived from the master key). The key is
// HKDF-SHA256 of the master key with the info RecordKeyInfo; the master key
// itself never keys a MAC. An id the keyring does not hold is an error
// wrapping ErrUnknownKey. The hash returned belongs to the caller; compare
// its sum with hmac.Equal.
func (kr *Keyring) RecordMAC(kid string) (hash.Hash, error) {
	k, ok := kr.recordKeys[kid]
	if !ok {
		return nil, fmt.Errorf("record key %q: %w", kid, ErrUnknownKey)
	}
	return hmac.New(sha256.New, k), nil
}
