package bench

import (
	"context"
	"testing"

	"github.com/attestd/attestd/crypto/token"

	"github.com/attestd/attestd/internal/testenv"
)

// Allocation budgets of the hot paths. They count allocations, never time.
//
// The attest budget is of the edge's own allocations: the standard
// library's ECDSA verification allocates about ten times by itself (it
// converts the key to its internal form and parses the signature into
// big-number form on every call), and an ES256 mint some sixty, whatever
// the caller does. So the test measures that floor (newFloor: the same
// verification and a mint of the same algorithm) in the same run, and holds
// the attest path to at most attestAllocBudget allocations above it.
//
// Above the floor, the edge allocates once per attest: one string holding
// the token's did, jti and pay (devicekey.ParseBuf parses the device key
// into the pooled request scratch without allocating). The replay set adds
// its share of new buckets (a map per shard and expiry second): about one
// per attest over 200 attests on a fresh set, a fraction over the 1000 of
// each run here (AllocsPerRun rounds down), less still under load. The
// floor itself cannot shrink: crypto/ecdsa verifies only with an
// *ecdsa.PublicKey, which it converts to its internal form on every call.
const (
	attestAllocBudget    = 1
	challengeAllocBudget = 0
	verifyHSAllocBudget  = 0
)

func TestAttestAllocs(t *testing.T) {
	skipIfRace(t)
	e := newEnv(t)
	const runs = 1000
	for _, tc := range attestCases {
		t.Run(tc.name, func(t *testing.T) {
			floor := newFloor(t, e, token.Alg(tc.name))
			floorAllocs := testing.AllocsPerRun(runs, func() {
				if err := floor(); err != nil {
					t.Fatal(err)
				}
			})
			reqs := e.requests(t, tc.app, runs+1) // AllocsPerRun warms up once
			dst := make([]byte, 0, 4096)
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				var err error
				if dst, err = e.attest(reqs[i], dst); err != nil {
					t.Fatal(err)
				}
				i++
			})
			own := allocs - floorAllocs
			t.Logf("%s: %.0f allocations per attest, %.0f of them the floor's (ECDSA verify + mint), %.0f the edge's own",
				tc.name, allocs, floorAllocs, own)
			if own > attestAllocBudget {
				t.Errorf("attest %s: %.0f allocations above the floor, budget %d (see bench/README.md, hot spots)", tc.name, own, attestAllocBudget)
			}
		})
	}
}

func TestChallengeAllocs(t *testing.T) {
	skipIfRace(t)
	e := newEnv(t)
	dst := make([]byte, 0, 256)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(500, func() {
		var err error
		if dst, err = e.edge.AppendChallenge(ctx, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > challengeAllocBudget {
		t.Errorf("challenge: %.1f allocations, budget %d", allocs, challengeAllocBudget)
	}
}

func TestTokenVerifyHS256Allocs(t *testing.T) {
	skipIfRace(t)
	v := newVerifyCase(t, newEnv(t), testenv.App)
	allocs := testing.AllocsPerRun(500, func() {
		if err := v.verify(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > verifyHSAllocBudget {
		t.Errorf("HS256 verify: %.1f allocations, budget %d", allocs, verifyHSAllocBudget)
	}
}
