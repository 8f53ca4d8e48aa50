package state

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// DeploymentKeyBytes is the size of every deployment-wide key.
const DeploymentKeyBytes = 32

// Key sets of the deployment record, as named in the stored JSON and by
// RotateDeploymentKey.
const (
	SetNonce             = "nonce"
	SetReceipt           = "receipt"
	SetTLSSessionTickets = "tls_session_tickets"
)

// Single keys of the deployment record.
const (
	fieldQUICStatelessReset = "quic_stateless_reset"
	fieldQUICToken          = "quic_token"
	// fieldDebugToken MACs debug tokens (PROTOCOL.md §11). Stores written
	// before it existed lack it until their next write (any import or
	// attestctl change, or attestctl init, creates it), so it is optional
	// when read.
	fieldDebugToken = "debug_token"
)

// singleKeys are the single keys of the deployment record, in the order
// they are created.
func singleKeys() []string {
	return []string{fieldQUICStatelessReset, fieldQUICToken, fieldDebugToken}
}

// optionalSingle reports whether a single key may be missing from a
// stored deployment record (it came after stores already existed).
func optionalSingle(name string) bool { return name == fieldDebugToken }

// keySets maps each key set to the prefix of its kids ("n1", "r1", "t1").
func keySets() map[string]string {
	return map[string]string{SetNonce: "n", SetReceipt: "r", SetTLSSessionTickets: "t"}
}

// KeySet is a rotating set of deployment keys: Active signs or encrypts,
// every key in Keys (Active included) is accepted when verifying.
type KeySet struct {
	Active string
	Keys   map[string]secret.Value
}

// ActiveKey returns the active key.
func (k KeySet) ActiveKey() secret.Value { return k.Keys[k.Active] }

// KIDs returns the key ids, sorted by their number ("n2" before "n10").
func (k KeySet) KIDs() []string {
	ids := slices.Collect(maps.Keys(k.Keys))
	slices.SortFunc(ids, func(a, b string) int {
		if c := kidNumber(a) - kidNumber(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return ids
}

// Deployment holds the deployment-wide keys every edge node shares.
type Deployment struct {
	// Nonce keys MAC challenges (PROTOCOL.md §1).
	Nonce KeySet
	// Receipt keys MAC enrolment receipts (PROTOCOL.md §7).
	Receipt KeySet
	// TLSSessionTickets encrypt TLS session tickets; the active one first.
	TLSSessionTickets KeySet
	// QUICStatelessReset and QUICToken are quic-go's shared keys.
	QUICStatelessReset secret.Value
	QUICToken          secret.Value
	// DebugToken MACs debug tokens (crypto/debugtoken); zero in a store
	// written before debug tokens existed, until its next write.
	DebugToken secret.Value
}

// storedKeySet is a KeySet as stored, each key sealed.
type storedKeySet struct {
	Active string            `json:"active"`
	Keys   map[string]string `json:"keys"`
}

// DecodeDeployment decodes the stored deployment record, opening each key.
func DecodeDeployment(value []byte, seal Sealer) (*Deployment, error) {
	raw, err := deploymentMembers(value)
	if err != nil {
		return nil, err
	}
	var d Deployment
	sets := map[string]*KeySet{SetNonce: &d.Nonce, SetReceipt: &d.Receipt, SetTLSSessionTickets: &d.TLSSessionTickets}
	for name, dst := range sets {
		m, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s missing", ErrCorrupt, DeploymentKey, name)
		}
		if *dst, err = decodeKeySet(name, m, seal); err != nil {
			return nil, err
		}
	}
	singles := map[string]*secret.Value{fieldQUICStatelessReset: &d.QUICStatelessReset, fieldQUICToken: &d.QUICToken,
		fieldDebugToken: &d.DebugToken}
	for name, dst := range singles {
		if _, ok := raw[name]; !ok && optionalSingle(name) {
			continue
		}
		if *dst, err = decodeSingle(name, raw[name], seal); err != nil {
			return nil, err
		}
	}
	return &d, nil
}

func deploymentMembers(value []byte) (map[string]json.RawMessage, error) {
	raw := map[string]json.RawMessage{}
	if err := decodeRecord(value, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, DeploymentKey, err)
	}
	return raw, nil
}

func decodeKeySet(name string, m json.RawMessage, seal Sealer) (KeySet, error) {
	var s storedKeySet
	if err := json.Unmarshal(m, &s); err != nil {
		return KeySet{}, fmt.Errorf("%w: %s: %s: %v", ErrCorrupt, DeploymentKey, name, err)
	}
	if _, ok := s.Keys[s.Active]; !ok {
		return KeySet{}, fmt.Errorf("%w: %s: %s: active key %q is not listed", ErrCorrupt, DeploymentKey, name, s.Active)
	}
	ks := KeySet{Active: s.Active, Keys: make(map[string]secret.Value, len(s.Keys))}
	for kid, sealed := range s.Keys {
		field := name + "/" + kid
		v, err := openOpt(seal, sealed, DeploymentKey, field)
		if err != nil {
			return KeySet{}, err
		}
		if v.Len() != DeploymentKeyBytes {
			return KeySet{}, fmt.Errorf("%w: %s: %s is not %d bytes", ErrCorrupt, DeploymentKey, field, DeploymentKeyBytes)
		}
		ks.Keys[kid] = v
	}
	return ks, nil
}

func decodeSingle(name string, m json.RawMessage, seal Sealer) (secret.Value, error) {
	var sealed string
	if m == nil || json.Unmarshal(m, &sealed) != nil || sealed == "" {
		return secret.Value{}, fmt.Errorf("%w: %s: %s missing or malformed", ErrCorrupt, DeploymentKey, name)
	}
	v, err := openOpt(seal, sealed, DeploymentKey, name)
	if err != nil {
		return secret.Value{}, err
	}
	if v.Len() != DeploymentKeyBytes {
		return secret.Value{}, fmt.Errorf("%w: %s: %s is not %d bytes", ErrCorrupt, DeploymentKey, name, DeploymentKeyBytes)
	}
	return v, nil
}

// ensureDeployment returns the deployment record with every missing key
// created, and whether anything was added. Members it does not know are
// kept as they are, so a newer writer's additions survive.
func ensureDeployment(snap *store.Snapshot, seal Sealer, rnd io.Reader) ([]byte, bool, error) {
	raw := map[string]json.RawMessage{}
	if e, ok := snap.Get(DeploymentKey); ok {
		var err error
		if raw, err = deploymentMembers(e.Value); err != nil {
			return nil, false, err
		}
		// Refuse to extend a record this master key cannot open.
		if _, err := decodeDeploymentPartial(raw, seal); err != nil {
			return nil, false, err
		}
	}
	changed := false
	for name, prefix := range keySets() {
		if _, ok := raw[name]; ok {
			continue
		}
		kid := prefix + "1"
		sealed, err := newSealedKey(seal, rnd, aad(DeploymentKey, name+"/"+kid))
		if err != nil {
			return nil, false, err
		}
		raw[name], _ = json.Marshal(storedKeySet{Active: kid, Keys: map[string]string{kid: sealed}})
		changed = true
	}
	for _, name := range singleKeys() {
		if _, ok := raw[name]; ok {
			continue
		}
		sealed, err := newSealedKey(seal, rnd, aad(DeploymentKey, name))
		if err != nil {
			return nil, false, err
		}
		raw[name], _ = json.Marshal(sealed)
		changed = true
	}
	if !changed {
		return nil, false, nil
	}
	v, err := json.Marshal(raw)
	if err != nil {
		return nil, false, fmt.Errorf("state: encode deployment: %w", err)
	}
	return v, true, nil
}

// decodeDeploymentPartial opens whatever members are present.
func decodeDeploymentPartial(raw map[string]json.RawMessage, seal Sealer) (int, error) {
	n := 0
	for name := range keySets() {
		if m, ok := raw[name]; ok {
			if _, err := decodeKeySet(name, m, seal); err != nil {
				return n, err
			}
			n++
		}
	}
	for _, name := range singleKeys() {
		if m, ok := raw[name]; ok {
			if _, err := decodeSingle(name, m, seal); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func newSealedKey(seal Sealer, rnd io.Reader, aadStr string) (string, error) {
	k := make([]byte, DeploymentKeyBytes)
	if _, err := io.ReadFull(rnd, k); err != nil {
		return "", fmt.Errorf("state: random key: %w", err)
	}
	defer clear(k)
	s, err := seal.Seal(k, aadStr)
	if err != nil {
		return "", fmt.Errorf("state: seal %s: %w", aadStr, err)
	}
	return s, nil
}

// kidNumber is the number after a kid's one-letter prefix, or -1.
func kidNumber(kid string) int {
	if len(kid) < 2 {
		return -1
	}
	n, err := strconv.Atoi(kid[1:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// nextKID returns prefix followed by one more than the highest number used.
func nextKID(prefix string, used []string) string {
	highest := 0
	for _, k := range used {
		if strings.HasPrefix(k, prefix) {
			highest = max(highest, kidNumber(k))
		}
	}
	return prefix + strconv.Itoa(highest+1)
}
