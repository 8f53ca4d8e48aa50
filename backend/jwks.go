package backend

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/token"
)

// Refresh fetches the JWKS now, whatever the rate limit (or waits for the
// fetch in flight), and reports whether it could (ErrJWKS). Use it to warm
// the cache at start-up. Without a JWKSURL it does nothing.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.cfg.JWKSURL == "" {
		return nil
	}
	return v.refresh(ctx, true)
}

// refresh fetches the JWKS unless the last attempt is under JWKSMinRefresh
// old (force: always), and returns the fetch's error; nil when it was
// skipped. Concurrent callers share one fetch (singleflight); the fetch runs
// detached from ctx, bounded by JWKSTimeout, so that one caller giving up
// does not fail the others, and nothing of ctx outlives the call; ctx bounds
// only the wait.
func (v *Verifier) refresh(ctx context.Context, force bool) error {
	// Skip when rate-limited, unless a fetch is in flight: then wait for it.
	// (fetching is set before lastAttempt and cleared after the new state is
	// stored, so a caller that skips finds the new keys already in place.)
	if !force && !v.mayFetch(v.cfg.Now()) && !v.fetching.Load() {
		return nil
	}
	// One key for all: at most one fetch at a time, so that only one
	// goroutine ever replaces the state.
	ch := v.flight.DoChan("jwks", func() (any, error) {
		now := v.cfg.Now()
		if !force && !v.mayFetch(now) {
			return nil, nil // another flight has just fetched
		}
		v.fetching.Store(true)
		defer v.fetching.Store(false)
		v.lastAttempt.Store(now.UnixNano())
		return nil, v.fetch(now)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the fetch: %w", ErrJWKS, context.Cause(ctx))
	}
}

func (v *Verifier) mayFetch(now time.Time) bool {
	last := v.lastAttempt.Load()
	return last == math.MinInt64 || now.UnixNano()-last >= int64(v.cfg.JWKSMinRefresh)
}

// fetch gets and installs the JWKS. On failure the key set is kept and the
// next attempt is due after JWKSMinRefresh.
func (v *Verifier) fetch(now time.Time) error {
	set, maxAge, err := v.get()
	old := v.state.Load()
	if err != nil {
		v.state.Store(&keyState{set: old.set, refreshAt: now.Add(v.cfg.JWKSMinRefresh), err: err})
		return err
	}
	maxAge = min(max(maxAge, v.cfg.JWKSMinRefresh), v.cfg.JWKSMaxAgeLimit)
	v.state.Store(&keyState{set: set, refreshAt: now.Add(maxAge)})
	return nil
}

// get fetches and parses the JWKS, merged with the static keys.
func (v *Verifier) get() (*token.KeySet, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.JWKSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrJWKS, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrJWKS, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, 0, fmt.Errorf("%w: status %d", ErrJWKS, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, token.MaxJWKSSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: reading: %w", ErrJWKS, err)
	}
	keys, err := token.ParseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrJWKS, err)
	}
	set, err := token.NewKeySet(append(append([]token.VerifyKey(nil), v.static...), keys...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: a JWKS kid is also a configured key: %w", ErrJWKS, err)
	}
	return set, cacheMaxAge(resp.Header.Values("Cache-Control"), v.cfg.JWKSMaxAge), nil
}

// cacheMaxAge reads the max-age of Cache-Control header values (RFC 9111
// §5.2.2): no-store and no-cache give 0; otherwise max-age=N gives N
// seconds; without either, def. A malformed max-age is ignored.
func cacheMaxAge(values []string, def time.Duration) time.Duration {
	age, found := def, false
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(arg, `"`), 10, 64)
				if err == nil && n >= 0 && !found {
					age, found = time.Duration(min(n, int64(1<<62)/int64(time.Second)))*time.Second, true
				}
			}
		}
	}
	return age
}
