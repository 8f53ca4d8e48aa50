package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// tokenCache keeps attestation results fresh: the Client's (one entry, key
// "") and the Transport's (key "" for the unbound token, bindingKey for each
// bound one).
//
// get hands out an entry's result while it is fresh; otherwise it runs one
// fetch for that key, and every caller that comes meanwhile waits for it and
// shares its result:
//   - a result is fresh while it has more than RefreshBefore left, or more
//     than half its lifetime if that is shorter;
//   - a failed fetch is not cached: the next call fetches again;
//   - a waiter whose context ends returns its context's error; the fetch goes
//     on for the others;
//   - the fetch runs under the context of the caller that started it. When
//     that context ends and the fetch fails, waiters whose own contexts are
//     still live fetch again rather than return another caller's
//     cancellation.
type tokenCache struct {
	now    func() time.Time
	before time.Duration // Config.RefreshBefore
	max    int           // bound (non-"") entries kept at most

	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	res    *Result
	at     time.Time // when res was obtained
	flight *flight   // the fetch in progress, or nil
}

// flight is one fetch; done is closed when res and err are set.
type flight struct {
	done chan struct{}
	res  *Result
	err  error
	// abandoned: the fetch failed after its starter's context had ended.
	abandoned bool
}

func newTokenCache(now func() time.Time, refreshBefore time.Duration, maxBound int) *tokenCache {
	return &tokenCache{now: now, before: refreshBefore, max: maxBound, entries: map[string]*tokenEntry{}}
}

// bindingKey is the key of the token bound to binding (nil: unbound): the
// b64u SHA-256 of the value, as sent in the attest body.
func bindingKey(binding []byte) string {
	if binding == nil {
		return ""
	}
	sum := sha256.Sum256(binding)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// get returns key's result if it is fresh, and otherwise the result of a
// fetch shared with the other callers of key (see tokenCache).
func (c *tokenCache) get(ctx context.Context, key string, fetch func(context.Context) (*Result, error)) (*Result, error) {
	for {
		c.mu.Lock()
		e := c.entry(key)
		if e.res != nil && c.fresh(e) {
			r := e.res
			c.mu.Unlock()
			return r, nil
		}
		if f := e.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.abandoned && ctx.Err() == nil {
				continue // its starter gave up; this caller has not
			}
			return f.res, f.err
		}
		f := &flight{done: make(chan struct{})}
		e.flight = f
		c.mu.Unlock()

		f.res, f.err = fetch(ctx)
		f.abandoned = f.err != nil && ctx.Err() != nil
		c.mu.Lock()
		e.flight = nil
		if f.err == nil {
			e.res, e.at = f.res, c.now()
		}
		c.mu.Unlock()
		close(f.done)
		return f.res, f.err
	}
}

// put caches res, obtained now, as key's result.
func (c *tokenCache) put(key string, res *Result) {
	c.mu.Lock()
	e := c.entry(key)
	e.res, e.at = res, c.now()
	c.mu.Unlock()
}

// peek returns key's cached result, fresh or not, or nil.
func (c *tokenCache) peek(key string) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return e.res
	}
	return nil
}

// drop forgets key's result, so that the next get fetches. A fetch in
// progress goes on, and its result is cached.
func (c *tokenCache) drop(key string) {
	c.mu.Lock()
	c.forget(key)
	c.mu.Unlock()
}

// dropAll forgets every result, as drop.
func (c *tokenCache) dropAll() {
	c.mu.Lock()
	for k := range c.entries {
		c.forget(k)
	}
	c.mu.Unlock()
}

// forget: c.mu is held.
func (c *tokenCache) forget(key string) {
	e := c.entries[key]
	switch {
	case e == nil:
	case e.flight != nil:
		e.res = nil // the entry holds the flight its waiters wait for
	default:
		delete(c.entries, key)
	}
}

// entry returns key's entry, adding it (and making room for it among the
// bound ones) if need be. c.mu is held.
func (c *tokenCache) entry(key string) *tokenEntry {
	if e := c.entries[key]; e != nil {
		return e
	}
	if key != "" {
		c.evict()
	}
	e := &tokenEntry{}
	c.entries[key] = e
	return e
}

// evict leaves room for one more bound entry. Entries with a fetch in
// progress stay. c.mu is held.
func (c *tokenCache) evict() {
	bound := len(c.entries)
	if _, ok := c.entries[""]; ok {
		bound--
	}
	for k, e := range c.entries {
		if bound < c.max {
			return
		}
		if k != "" && e.flight == nil {
			delete(c.entries, k)
			bound--
		}
	}
}

// fresh: valid for longer than RefreshBefore, or than half its lifetime if
// that is shorter. c.mu is held.
func (c *tokenCache) fresh(e *tokenEntry) bool {
	exp := time.Unix(e.res.ExpiresAt, 0)
	margin := min(c.before, exp.Sub(e.at)/2)
	return exp.Sub(c.now()) > margin
}
