package limit

import (
	"sync/atomic"

	"github.com/attestd/attestd/internal/apierr"
)

// pool is a bound on requests in flight: a count of places held, a bound
// (0: none) and a count of refusals. The Limiter has two, one for the
// API's requests and one for proxied requests, so that neither kind can
// take the other's places. Its zero value is not ready: call init.
type pool struct {
	held    atomic.Int64
	max     int64
	refused atomic.Uint64
	release func() // gives one place back; made once, so take never allocates
}

// init sets the bound (0: none) and makes the release func.
func (p *pool) init(bound int) {
	p.max = int64(bound)
	p.release = func() { p.held.Add(-1) }
}

// take takes one place. On success the caller must call release exactly
// once; a refusal is apierr.ErrOverloaded with a release that does
// nothing. Without a bound nothing is counted. It never allocates.
func (p *pool) take() (release func(), err error) {
	if p.max == 0 {
		return nop, nil
	}
	if p.held.Add(1) > p.max {
		p.held.Add(-1)
		p.refused.Add(1)
		return nop, apierr.ErrOverloaded
	}
	return p.release, nil
}

func nop() {}
