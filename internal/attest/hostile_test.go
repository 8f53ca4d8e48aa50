package attest

import (
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/replay"
)

// TestForgedAttestsDoNotSpendVictimAllowance: someone who knows a device's
// public key (it is in every request the device sends) but not its private
// key sends 30 attests in its name with wrong signatures. The per-device
// limit (internal/limit, one attest per 1000 s) counts none of them: the
// device's own attest then passes, and only its second is rate_limited.
func TestForgedAttestsDoNotSpendVictimAllowance(t *testing.T) {
	lim, err := limit.New(limit.Config{AttestRate: 0.001, AttestBurst: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOptions{limits: lim})
	victim, attacker := newDevice(t), newDevice(t)
	for i := range 30 {
		b := r.body(victim, claim{nonce: r.nonce()})
		if _, err := r.attest(b, attacker.sign(t, b)); code(err) != apierr.SignatureInvalid {
			t.Fatalf("forgery %d: %v, want signature_invalid", i, err)
		}
	}
	out, err := r.genuine(victim, claim{})
	if err != nil {
		t.Fatalf("the victim after 30 forgeries: %v", err)
	}
	if real, _ := r.verdictOf(out); !real {
		t.Fatal("the victim's attest did not pass")
	}
	if _, err := r.genuine(victim, claim{}); code(err) != apierr.RateLimited {
		t.Fatalf("the victim's second attest: %v, want rate_limited (the limit is on)", err)
	}
	if s := lim.Stats(); s.AttestLimited != 1 {
		t.Fatalf("%d attests limited, want 1", s.AttestLimited)
	}
}

// TestRateLimitedAttestUsesNoNonce: a 429 leaves its nonce unused, so the
// same signed request is accepted once the device's bucket has refilled.
func TestRateLimitedAttestUsesNoNonce(t *testing.T) {
	lim, err := limit.New(limit.Config{AttestRate: 1, AttestBurst: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOptions{limits: lim})
	d := newDevice(t)
	if _, err := r.genuine(d, claim{}); err != nil {
		t.Fatal(err)
	}
	b := r.body(d, claim{nonce: r.nonce()})
	sig := d.sign(t, b)
	if _, err := r.attest(b, sig); code(err) != apierr.RateLimited {
		t.Fatalf("past the burst: %v", err)
	}
	r.advance(time.Second)
	if _, err := r.attest(b, sig); err != nil {
		t.Fatalf("the same request once refilled: %v", err)
	}
}

// TestDecoyFloodDoesNotDenyGenuine: an attacker with self-made device keys
// (valid signatures) and unknown app ids or failing claims fills the
// replay set's decoy budget. Further decoys are refused (overloaded), and
// genuine devices go on passing up to their own budget.
func TestDecoyFloodDoesNotDenyGenuine(t *testing.T) {
	const budget = 40
	r := newRig(t, rigOptions{replayMax: budget})
	attacker := newDevice(t)
	for i := range budget {
		c := claim{app: "com.attacker.decoy"}
		if i%2 == 1 {
			c = claim{integrity: `{"rooted":true}`}
		}
		if _, err := r.genuine(attacker, c); err != nil {
			t.Fatalf("decoy %d: %v", i, err)
		}
	}
	if _, err := r.genuine(attacker, claim{app: "com.attacker.decoy"}); code(err) != apierr.Overloaded {
		t.Fatalf("a decoy past the budget: %v, want overloaded", err)
	}
	for i := range budget {
		out, err := r.genuine(newDevice(t), claim{})
		if err != nil {
			t.Fatalf("genuine device %d during the flood: %v", i, err)
		}
		if real, _ := r.verdictOf(out); !real {
			t.Fatalf("genuine device %d: not a pass", i)
		}
	}
	if _, err := r.genuine(newDevice(t), claim{}); code(err) != apierr.Overloaded {
		t.Fatalf("a pass past its own budget: %v, want overloaded", err)
	}
	if r.replay.LenOf(replay.Decoy) != budget || r.replay.LenOf(replay.Real) != budget {
		t.Fatalf("set holds %d real, %d decoy", r.replay.LenOf(replay.Real), r.replay.LenOf(replay.Decoy))
	}
}

// TestSameNonceRaceAnswersOneToken: one device sends different bodies with
// one nonce at once, some that pass and some that fail, all with platform
// evidence; whatever the interleaving, exactly one is decided (one
// platform check) and answered with a token, the others nonce_replayed.
// While the decoy budget is full, the failing ones are overloaded and a
// token, if any, is the pass's.
func TestSameNonceRaceAnswersOneToken(t *testing.T) {
	const rounds = 30
	for _, decoyFull := range []bool{false, true} {
		r := newRig(t, rigOptions{replayMax: rounds})
		d := newDevice(t)
		if decoyFull {
			for range rounds {
				if _, err := r.genuine(d, claim{version: "0.9"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range rounds {
			n := r.nonce()
			pa := `{"format":"receipt"}`
			pass, fail := r.body(d, claim{nonce: n, pa: pa}), r.body(d, claim{nonce: n, pa: pa, integrity: `{"hooked":true}`})
			bodies := [][]byte{pass, fail, pass, fail}
			sigs := make([][]byte, len(bodies))
			for j, b := range bodies {
				sigs[j] = d.sign(t, b)
			}
			outs := make([][]byte, len(bodies))
			errs := make([]error, len(bodies))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for j := range bodies {
				wg.Go(func() {
					<-start
					outs[j], errs[j] = r.attest(bodies[j], sigs[j])
				})
			}
			close(start)
			wg.Wait()
			tokens := 0
			for j, err := range errs {
				switch c := code(err); {
				case err == nil:
					tokens++
					if real, _ := r.verdictOf(outs[j]); decoyFull && !real {
						t.Fatalf("round %d: a decoy won while its budget was full", i)
					}
				case c == apierr.NonceReplayed, c == apierr.Overloaded && decoyFull && j%2 == 1:
				default:
					t.Fatalf("round %d, racer %d: %v", i, j, err)
				}
			}
			// With the decoy budget full, a failing racer may hold the
			// nonce, be refused (overloaded) and let it go after the
			// passing racers were told it is taken: no token at all then.
			if tokens > 1 || tokens == 0 && !decoyFull {
				t.Fatalf("decoy budget full %v, round %d: %d tokens for one nonce", decoyFull, i, tokens)
			}
			if n := r.platform.calls.Swap(0); n > 1 && !decoyFull {
				t.Fatalf("round %d: %d verdicts decided for one nonce", i, n)
			}
		}
	}
}
