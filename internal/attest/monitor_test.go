package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/verify/devicekey"
)

// tokenClaims are the §3 and §11 claims, as golang-jwt reads them.
type tokenClaims struct {
	jwt.RegisteredClaims
	Arc *string `json:"arc"`
	Mon *bool   `json:"mon"`
	Dbg *string `json:"dbg"`
}

// answerOf decodes an answer: whether golang-jwt verifies its token with
// the account's real key (HS256 pinned), the token's claims, and which
// optional members the answer has.
func (r *rig) answerOf(out []byte) (real bool, cl tokenClaims, members map[string]json.RawMessage) {
	r.t.Helper()
	if err := json.Unmarshal(out, &members); err != nil {
		r.t.Fatalf("answer %s: %v", out, err)
	}
	var tok string
	if err := json.Unmarshal(members["token"], &tok); err != nil {
		r.t.Fatal(err)
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(r.clock),
		jwt.WithAudience(rigAccount), jwt.WithIssuer(DefaultIssuer), jwt.WithExpirationRequired())
	_, err := p.ParseWithClaims(tok, &cl, func(*jwt.Token) (any, error) { return rigHSKey, nil })
	switch {
	case err == nil:
		return true, cl, members
	case !errors.Is(err, jwt.ErrTokenSignatureInvalid):
		r.t.Fatalf("token: %v", err)
	}
	cl = tokenClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &cl); err != nil {
		r.t.Fatal(err)
	}
	return false, cl, members
}

func str(p *string) string {
	if p == nil {
		return "<absent>"
	}
	return *p
}

// TestMonitorModeFailureVerifiesWithAccountKey: an app in monitor mode
// whose rooted, hooked or otherwise failing client attests gets a token
// the account's key verifies, marked mon with the reasons in arc even
// where the account does not annotate, never secrets, the pins as usual,
// and its nonce charged to the Monitor budget.
func TestMonitorModeFailureVerifiesWithAccountKey(t *testing.T) {
	monitor := model.Policy{Enforcement: model.EnforcementMonitor}
	for _, tc := range []struct {
		name   string
		c      claim
		policy model.Policy
		arc    string
	}{
		{"rooted", claim{integrity: `{"rooted":true}`}, monitor, ReasonRooted},
		{"hooked-and-rooted", claim{integrity: `{"rooted":true,"hooked":true}`}, monitor, ReasonRooted + "," + ReasonHooked},
		{"signer", claim{signer: &otherDigest}, monitor, ReasonSignerMismatch},
		{"pa-missing", claim{}, model.Policy{Enforcement: model.EnforcementMonitor, RequirePlatformAttestation: true}, ReasonPAMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{policy: tc.policy})
			r.reg.account.Annotate = false
			tc.c.wantSecrets = true
			out, err := r.genuine(newDevice(t), tc.c)
			if err != nil {
				t.Fatal(err)
			}
			real, cl, m := r.answerOf(out)
			if !real || cl.Mon == nil || !*cl.Mon || str(cl.Arc) != tc.arc || cl.Dbg != nil {
				t.Fatalf("real %v, mon %v, arc %q, dbg %v; want a real-key token with mon and arc %q", real, cl.Mon, str(cl.Arc), cl.Dbg, tc.arc)
			}
			if m["secrets"] != nil || m["receipt"] != nil || m["pins"] == nil {
				t.Fatalf("answer members: %s", out)
			}
			if tc.policy.RequirePlatformAttestation != bytes.Contains(out, []byte(`"platform_attestation":"required"`)) {
				t.Fatalf("platform_attestation hint: %s", out)
			}
			if !slices.Equal(r.replay.uses, []replay.Class{replay.Monitor}) {
				t.Fatalf("nonce used as %v, want Monitor", r.replay.uses)
			}
			if o := r.obs.outcomes[0]; !o.Monitor || o.Passed || o.App != rigApp {
				t.Fatalf("observer heard %+v", o)
			}
		})
	}
}

// TestMonitorModePassIsMarked: a pass in monitor mode carries mon and an
// empty arc, releases secrets as any pass, and is a Real replay use.
func TestMonitorModePassIsMarked(t *testing.T) {
	r := newRig(t, rigOptions{policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	r.reg.account.Annotate = false
	out, err := r.genuine(newDevice(t), claim{wantSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	real, cl, m := r.answerOf(out)
	if !real || cl.Mon == nil || !*cl.Mon || cl.Arc == nil || *cl.Arc != "" || m["secrets"] == nil {
		t.Fatalf("real %v mon %v arc %q secrets %v", real, cl.Mon, str(cl.Arc), m["secrets"] != nil)
	}
	if !slices.Equal(r.replay.uses, []replay.Class{replay.Real}) {
		t.Fatalf("nonce used as %v", r.replay.uses)
	}
}

// TestMonitorModeFailureGetsNoReceipt: hardware evidence that verified
// does not earn a receipt when the verdict fails, though the token is
// signed with the account's key.
func TestMonitorModeFailureGetsNoReceipt(t *testing.T) {
	r := newRig(t, rigOptions{policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	r.platform.result = PlatformResult{Verified: true, Receipt: "RECEIPT"}
	out, err := r.genuine(newDevice(t), claim{pa: `{"format":"android-key"}`, integrity: `{"debugger":true}`})
	if err != nil {
		t.Fatal(err)
	}
	if real, _, m := r.answerOf(out); !real || m["receipt"] != nil {
		t.Fatalf("real %v, answer %s", real, out)
	}
	if out, _ = r.genuine(newDevice(t), claim{pa: `{"format":"android-key"}`}); !bytes.Contains(out, []byte(`"receipt":"RECEIPT"`)) {
		t.Fatalf("a pass lost its receipt: %s", out)
	}
}

// TestEnforceModeTokensHaveNoMon: enforce (the default) never marks mon,
// and app_unknown is never monitor, whatever the apps around it.
func TestEnforceModeTokensHaveNoMon(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, c := range []claim{{}, {integrity: `{"rooted":true}`}} {
		out, err := r.genuine(newDevice(t), c)
		if err != nil {
			t.Fatal(err)
		}
		if _, cl, _ := r.answerOf(out); cl.Mon != nil {
			t.Fatalf("enforce-mode token has mon: %s", out)
		}
	}
	r = newRig(t, rigOptions{policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	out, err := r.genuine(newDevice(t), claim{app: "com.example.unknown"})
	if err != nil {
		t.Fatal(err)
	}
	real, cl, m := r.answerOf(out)
	if real || cl.Mon != nil || cl.Arc != nil || m["pins"] != nil || r.replay.uses[0] != replay.Decoy || r.obs.outcomes[0].Monitor {
		t.Fatalf("app_unknown: real %v mon %v arc %v: %s", real, cl.Mon, cl.Arc, out)
	}
}

// TestMonitorFailureFloodDoesNotDenyGenuine: anyone who knows a
// monitor-mode app's id can make real-key failures; they fill only the
// Monitor budget, so genuine passes and decoys go on.
func TestMonitorFailureFloodDoesNotDenyGenuine(t *testing.T) {
	const budget = 30
	r := newRig(t, rigOptions{replayMax: budget, policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	attacker := newDevice(t)
	for i := range budget {
		if _, err := r.genuine(attacker, claim{integrity: `{"rooted":true}`}); err != nil {
			t.Fatalf("monitor failure %d: %v", i, err)
		}
	}
	if _, err := r.genuine(attacker, claim{integrity: `{"rooted":true}`}); code(err) != apierr.Overloaded {
		t.Fatalf("a monitor failure past its budget: %v, want overloaded", err)
	}
	for i := range budget {
		out, err := r.genuine(newDevice(t), claim{})
		if err != nil {
			t.Fatalf("genuine device %d during the flood: %v", i, err)
		}
		if real, cl, _ := r.answerOf(out); !real || str(cl.Arc) != "" {
			t.Fatalf("genuine device %d: not a pass", i)
		}
	}
	if _, err := r.genuine(attacker, claim{app: "com.example.unknown"}); err != nil {
		t.Fatalf("a decoy during the flood: %v", err)
	}
	if r.replay.LenOf(replay.Monitor) != budget || r.replay.LenOf(replay.Real) != budget || r.replay.LenOf(replay.Decoy) != 1 {
		t.Fatalf("set holds real %d, decoy %d, monitor %d", r.replay.LenOf(replay.Real), r.replay.LenOf(replay.Decoy), r.replay.LenOf(replay.Monitor))
	}
}

// TestMonitorDecisionIsPure: decide on a monitor-mode app reports the mode
// and classes without spending anything.
func TestMonitorDecisionIsPure(t *testing.T) {
	r := newRig(t, rigOptions{policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	d := newDevice(t)
	var req Request
	if err := ParseRequest(r.body(d, claim{nonce: r.nonce(), integrity: `{"emulator":true}`}), &req); err != nil {
		t.Fatal(err)
	}
	key, err := devicekey.Parse(req.DeviceKey)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := r.edge.decide(t.Context(), &req, key, key.DID(), r.clock(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Monitor || dec.Passed() || !dec.RealKey() || dec.Secrets() || dec.ReplayClass() != replay.Monitor {
		t.Fatalf("decision %+v", dec)
	}
	if r.replay.Len() != 0 || r.obs.count() != 0 {
		t.Fatal("decide had side effects")
	}
}
