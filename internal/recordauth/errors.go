package recordauth

import (
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/attestd/attestd/crypto/envelope"
)

// Keys are the master keys as record authentication needs them.
// crypto/envelope's *Keyring implements it, and so does the daemon's
// holder of the keys it re-reads. Implementations are safe for concurrent
// use.
type Keys interface {
	// ActiveKeyID is the master key that tags new records.
	ActiveKeyID() string
	// RecordMAC returns a new HMAC-SHA256 under the record key of master
	// key kid; an error wrapping envelope.ErrUnknownKey when kid is not
	// held.
	RecordMAC(kid string) (hash.Hash, error)
}

// Classes of a snapshot that does not verify (Error.Class), in the order
// of precedence Verify reports them.
var (
	// ErrForged: a record's tag (or the manifest's) does not verify under
	// the master key it names: edited, or tagged without the master key.
	ErrForged = errors.New("records forged or edited without the master key")
	// ErrMismatch: every tag verifies but the records are not the ones
	// the manifest lists: a record added, removed, or replayed from
	// another revision.
	ErrMismatch = errors.New("records added, removed or replayed without the master key")
	// ErrUnauthenticated: records without a tag, or no manifest: a store
	// written before record authentication (run `attestctl store
	// authenticate`), or records written without the master key.
	ErrUnauthenticated = errors.New("store records are not authenticated")
	// ErrUnknownKey: tagged under a master key this key file does not
	// list (a rotation the node has not followed yet). It wraps
	// envelope.ErrUnknownKey.
	ErrUnknownKey = fmt.Errorf("records tagged under a master key not held: %w", envelope.ErrUnknownKey)
	// ErrRollback: a genuine manifest of a generation lower than one
	// already accepted, or another state at the same generation: the
	// store was rolled back to an older state.
	ErrRollback = errors.New("store rolled back to an older generation")
	// ErrTooLarge: a record or the manifest would pass its bound.
	ErrTooLarge = errors.New("recordauth: too large")
	// ErrReserved: a change writes the manifest's key itself, or a record
	// that already has a member named TagMember, or that is not a JSON
	// object.
	ErrReserved = errors.New("recordauth: record cannot be authenticated")

	errBadMAC = errors.New("MAC does not verify")
)

// Kind names what is wrong with one record.
type Kind string

// Kinds of Problem.
const (
	KindUntagged    Kind = "untagged"
	KindPending     Kind = "pending"
	KindNoManifest  Kind = "no_manifest"
	KindForged      Kind = "forged"
	KindUnknownKey  Kind = "unknown_key"
	KindAdded       Kind = "added"
	KindReplayed    Kind = "replayed"
	KindRemoved     Kind = "removed"
	KindSubstituted Kind = "substituted"
)

// class is the error class of a kind.
func (k Kind) class() error {
	switch k {
	case KindForged:
		return ErrForged
	case KindAdded, KindReplayed, KindRemoved, KindSubstituted:
		return ErrMismatch
	case KindUntagged, KindNoManifest, KindPending:
		return ErrUnauthenticated
	}
	return ErrUnknownKey
}

// Problem is one record that does not verify.
type Problem struct {
	Key    string `json:"key"`
	Kind   Kind   `json:"kind"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return p.Key + ": " + p.Detail }

// maxShown bounds the problems an Error's message names.
const maxShown = 5

// Error is a snapshot that does not verify. Its message names the first
// few problems (store keys and what is wrong, never a value).
type Error struct {
	Class      error
	Problems   []Problem
	Generation uint64 // of the manifest, when it verified
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Class.Error())
	for i, p := range e.Problems {
		if i == maxShown {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-maxShown)
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	if errors.Is(e.Class, ErrUnauthenticated) {
		b.WriteString(" (a store written before attestd 1.1)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Class }

// Reason is the metric label of a verification error: forged, mismatch,
// unauthenticated, unknown_key, rollback, or "" for any other error.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrForged):
		return "forged"
	case errors.Is(err, ErrMismatch):
		return "mismatch"
	case errors.Is(err, ErrUnauthenticated):
		return "unauthenticated"
	case errors.Is(err, ErrRollback):
		return "rollback"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	}
	return ""
}

// Reasons lists every value Reason returns but "".
func Reasons() []string {
	return []string{"forged", "mismatch", "unauthenticated", "rollback", "unknown_key"}
}
