package limit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/internal/apierr"
)

// The verification gate.
//
// Signature verification is nearly all of an attest's CPU time (one ECDSA
// P-256 verify, ~50-100 µs; a platform enrolment several). Left to the Go
// scheduler, every request being verified is a runnable goroutine, so on a
// saturated node a newly arrived request waits behind all of them before it
// can even be refused: refusals are cheap but not fast. The gate lets at
// most Slots verifications run at once, in arrival order; the others wait
// parked, costing the scheduler nothing, so the run queue holds only short
// work and a refusal is answered promptly. A request is refused at once,
// before it waits at all, when the verifications queued ahead of it would
// take longer than MaxQueueDelay at the measured cost of one.

// gate is a FIFO semaphore with an admission estimate.
type gate struct {
	slots   chan struct{} // a token per verification running
	waiting atomic.Int64  // callers queued for a slot
	costNs  atomic.Int64  // moving average of one verification, ns
	maxWait int64         // ns; 0: queue without bound
	now     func() time.Time
	epoch   time.Time
	refused atomic.Uint64
}

func newGate(slots int, maxWait time.Duration, now func() time.Time) *gate {
	return &gate{slots: make(chan struct{}, slots), maxWait: int64(maxWait), now: now, epoch: now()}
}

// since returns the monotonic time since the gate was made, in ns.
func (g *gate) since() int64 { return int64(g.now().Sub(g.epoch)) }

// enter takes a slot, waiting in line for one; see Limiter.EnterVerify.
func (g *gate) enter(ctx context.Context) (int64, error) {
	select {
	case g.slots <- struct{}{}:
		return g.since(), nil
	default:
	}
	ahead := g.waiting.Add(1)
	if g.maxWait > 0 && ahead*g.costNs.Load() > g.maxWait*int64(cap(g.slots)) {
		g.waiting.Add(-1)
		g.refused.Add(1)
		return 0, errGate
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return g.since(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("limit: waiting to verify: %w: %w", errGate, ctx.Err())
	}
}

// leave frees the slot taken at entered and folds the time it was held
// into the cost estimate (an exponential moving average, weight 1/8).
func (g *gate) leave(entered int64) {
	held := g.since() - entered
	<-g.slots
	for {
		old := g.costNs.Load()
		next := held
		if old != 0 {
			next = old + (held-old)/8
		}
		if g.costNs.CompareAndSwap(old, next) {
			return
		}
	}
}

var errGate = apierr.ErrOverloaded

// EnterVerify waits for a verification slot (see the gate above) and
// returns a token to hand to LeaveVerify once the verification is done. It
// refuses at once with apierr.ErrOverloaded (Retry-After 1 s) when the
// verifications queued ahead would take longer than MaxQueueDelay, and
// returns overloaded wrapping ctx's error if ctx ends while waiting. It does not
// allocate. On a nil Limiter, or with MaxQueueDelay 0, it admits at once.
func (l *Limiter) EnterVerify(ctx context.Context) (int64, error) {
	if l == nil || l.gate == nil {
		return 0, nil
	}
	return l.gate.enter(ctx)
}

// LeaveVerify frees the slot EnterVerify took; call it exactly once after
// each successful EnterVerify.
func (l *Limiter) LeaveVerify(token int64) {
	if l == nil || l.gate == nil {
		return
	}
	l.gate.leave(token)
}
