package attest

import (
	"fmt"
	"time"

	"github.com/attestd/attestd/internal/registry"
)

// DebugOutcome is what became of the debug token an attest request
// carried (PROTOCOL.md §11).
type DebugOutcome uint8

// The outcomes of a debug token, as attestd_debug_token_uses_total counts
// them and the log names them.
const (
	// DebugNone: the request carried no debug token.
	DebugNone DebugOutcome = iota
	// DebugAccepted: a live token of the request's app; the genuine-app
	// checks were waived.
	DebugAccepted
	// DebugUnknown: no stored token is this one (never made, revoked,
	// malformed, or the store has no debug token key yet).
	DebugUnknown
	// DebugExpired: a token of the request's app whose time is over.
	DebugExpired
	// DebugOtherApp: a token made for another app (or for this app id
	// under another account, or sent for an unknown app).
	DebugOtherApp
	// NumDebugOutcomes is the number of outcomes, DebugNone included.
	NumDebugOutcomes = 5
)

var debugOutcomeNames = [NumDebugOutcomes]string{"none", "accepted", "unknown", "expired", "other_app"}

// String is the outcome's label value.
func (o DebugOutcome) String() string {
	if o < NumDebugOutcomes {
		return debugOutcomeNames[o]
	}
	return "invalid"
}

// DebugUse is the debug token of a decision.
type DebugUse struct {
	Outcome DebugOutcome
	// Name is the stored token's name, when one was found (accepted,
	// expired, other app): for the log, and as the token's dbg claim
	// when accepted.
	Name string
	// Secrets: the token was made with --secrets (meaningful when
	// accepted).
	Secrets bool
}

// debugToken looks up tok for app (nil: the app is unknown) of account
// acct at now. An error is the registry's, never the request's.
func (e *Edge) debugToken(tok []byte, app *registry.App, now time.Time) (DebugUse, error) {
	t, ok, err := e.cfg.Registry.DebugToken(tok)
	if err != nil {
		return DebugUse{}, fmt.Errorf("attest: debug token: %w", err)
	}
	switch {
	case !ok:
		return DebugUse{Outcome: DebugUnknown}, nil
	case app == nil || t.App != app.ID || t.Account != app.Account:
		return DebugUse{Outcome: DebugOtherApp, Name: t.Name}, nil
	case now.Unix() >= t.ExpiresAt:
		return DebugUse{Outcome: DebugExpired, Name: t.Name}, nil
	}
	return DebugUse{Outcome: DebugAccepted, Name: t.Name, Secrets: t.Secrets}, nil
}
