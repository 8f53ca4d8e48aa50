package receipt

import (
	"fmt"
	"slices"

	"github.com/attestd/attestd/crypto/secret"
)

// Key bounds.
const (
	MinKeySize  = 32 // bytes of HMAC-SHA256 key
	MaxKeyIDLen = 32 // characters of [A-Za-z0-9_-]
)

// Key is one receipt MAC key and its id.
type Key struct {
	ID     string
	Secret secret.Value
}

// Keyring holds the key that issues receipts and the keys still accepted
// when checking them. It is immutable and safe for concurrent use; build a
// new one to rotate. Use NewKeyring; a nil *Keyring knows no key.
type Keyring struct {
	active string
	keys   map[string]secret.Value
}

// NewKeyring returns a keyring that issues with active and accepts active
// and every accepted key. Ids are 1 to 32 characters of [A-Za-z0-9_-],
// unique; secrets at least 32 bytes. An error wraps ErrKey.
func NewKeyring(active Key, accepted ...Key) (*Keyring, error) {
	k := &Keyring{active: active.ID, keys: make(map[string]secret.Value, 1+len(accepted))}
	for _, key := range append([]Key{active}, accepted...) {
		if !validKeyID(key.ID) {
			return nil, fmt.Errorf("%w: key id %q", ErrKey, key.ID)
		}
		if key.Secret.Len() < MinKeySize {
			return nil, fmt.Errorf("%w: key %q has %d bytes, at least %d", ErrKey, key.ID, key.Secret.Len(), MinKeySize)
		}
		if _, dup := k.keys[key.ID]; dup {
			return nil, fmt.Errorf("%w: key id %q repeated", ErrKey, key.ID)
		}
		k.keys[key.ID] = key.Secret
	}
	return k, nil
}

// ActiveID is the id of the key that issues receipts.
func (k *Keyring) ActiveID() string {
	if k == nil {
		return ""
	}
	return k.active
}

func (k *Keyring) key(id string) (secret.Value, bool) {
	if k == nil {
		return secret.Value{}, false
	}
	v, ok := k.keys[id]
	return v, ok
}

func validKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Format prints the key ids, never the keys, with every verb: fmt cannot
// call secret.Value's own Format on values held in unexported fields.
func (k *Keyring) Format(f fmt.State, _ rune) {
	if k == nil {
		fmt.Fprint(f, "receipt.Keyring(nil)")
		return
	}
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Fprintf(f, "receipt.Keyring{active: %s, accepted: %v}", k.active, ids)
}
