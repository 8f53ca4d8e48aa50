package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fetcher counts fetches; each returns a result valid for life from the
// clock's now, or err when set. With gate set, a fetch waits for it to be
// closed (or for its context to end).
type fetcher struct {
	clock *fakeClock
	life  time.Duration
	n     atomic.Int32
	err   error
	gate  chan struct{}
	began chan struct{} // receives once per fetch, when set
}

func (f *fetcher) fetch(ctx context.Context) (*Result, error) {
	n := f.n.Add(1)
	if f.began != nil {
		f.began <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return &Result{Token: fmt.Sprintf("t%d", n), ExpiresAt: f.clock.Now().Add(f.life).Unix()}, nil
}

func newCacheRig(maxBound int) (*tokenCache, *fakeClock, *fetcher) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	return newTokenCache(clock.Now, 30*time.Second, maxBound), clock, &fetcher{clock: clock, life: 300 * time.Second}
}

// waitFlight waits until every goroutine of the test's synctest bubble is
// blocked (callers in a fetch or waiting for one), and returns key's fetch
// in progress; there must be one.
func waitFlight(t *testing.T, c *tokenCache, key string) *flight {
	t.Helper()
	synctest.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.flight != nil {
		return e.flight
	}
	t.Fatalf("no fetch in progress for %q", key)
	return nil
}

// TestTokenCacheConcurrentCallersShareOneFetch: callers that come while a
// fetch runs wait for it and get its result; nothing fetches twice.
func TestTokenCacheConcurrentCallersShareOneFetch(t *testing.T) {
	synctest.Test(t, concurrentCallersShareOneFetch)
}

func concurrentCallersShareOneFetch(t *testing.T) {
	c, _, f := newCacheRig(0)
	f.gate = make(chan struct{})
	const callers = 32
	var wg sync.WaitGroup
	got := make([]*Result, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = c.get(context.Background(), "", f.fetch)
		}()
	}
	waitFlight(t, c, "") // and all the others wait for it
	close(f.gate)
	wg.Wait()
	if n := f.n.Load(); n != 1 {
		t.Fatalf("%d fetches for %d concurrent callers, want 1", n, callers)
	}
	for i := range callers {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("caller %d: %v %v, want the shared %v", i, got[i], errs[i], got[0])
		}
	}
	// Fresh: served from the cache.
	if r, err := c.get(context.Background(), "", f.fetch); err != nil || r != got[0] || f.n.Load() != 1 {
		t.Fatalf("cached: %v %v after %d fetches", r, err, f.n.Load())
	}
}

// TestTokenCacheRefreshesBeforeExpiry: a result is served until it has
// RefreshBefore left, or half its lifetime if that is shorter.
func TestTokenCacheRefreshesBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		life, fresh time.Duration // fresh: how long a result is served
	}{
		{"long-lived", 300 * time.Second, 270 * time.Second},
		{"short-lived", 20 * time.Second, 10 * time.Second}, // RefreshBefore 30 s > its lifetime
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clock, f := newCacheRig(0)
			f.life = tc.life
			first, err := c.get(context.Background(), "", f.fetch)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(tc.fresh - time.Second)
			if r, _ := c.get(context.Background(), "", f.fetch); r != first || f.n.Load() != 1 {
				t.Fatalf("%v before the margin: fetched again (%d fetches)", tc.fresh-time.Second, f.n.Load())
			}
			clock.Advance(time.Second)
			r, err := c.get(context.Background(), "", f.fetch)
			if err != nil || r == first || f.n.Load() != 2 {
				t.Fatalf("at the margin: %v %v, %d fetches; want a new result", r, err, f.n.Load())
			}
		})
	}
}

// TestTokenCacheErrorIsNotCached: a failed fetch reaches every caller that
// waited for it; the next call fetches again.
func TestTokenCacheErrorIsNotCached(t *testing.T) { synctest.Test(t, errorIsNotCached) }

func errorIsNotCached(t *testing.T) {
	c, _, f := newCacheRig(0)
	boom := errors.New("edge down")
	f.err, f.gate = boom, make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.get(context.Background(), "", f.fetch)
			errs <- err
		}()
	}
	waitFlight(t, c, "") // one caller fetches, the other waits for it
	close(f.gate)
	for i := range 2 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if n := f.n.Load(); n != 1 {
		t.Fatalf("%d fetches for two concurrent callers", n)
	}
	f.err = nil
	if r, err := c.get(context.Background(), "", f.fetch); err != nil || r == nil || f.n.Load() != 2 {
		t.Fatalf("after the error: %v %v, %d fetches; want a new fetch", r, err, f.n.Load())
	}
}

// TestTokenCacheWaiterCancelled: a waiter whose context ends returns at
// once; the fetch goes on and the others get its result.
func TestTokenCacheWaiterCancelled(t *testing.T) { synctest.Test(t, waiterCancelled) }

func waiterCancelled(t *testing.T) {
	c, _, f := newCacheRig(0)
	f.gate = make(chan struct{})
	leader := make(chan *Result, 1)
	go func() {
		r, _ := c.get(context.Background(), "", f.fetch)
		leader <- r
	}()
	waitFlight(t, c, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		_, err := c.get(ctx, "", f.fetch)
		cancelled <- err
	}()
	other := make(chan *Result, 1)
	go func() {
		r, _ := c.get(context.Background(), "", f.fetch)
		other <- r
	}()
	synctest.Wait() // both wait for the fetch
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(f.gate)
	r, o := <-leader, <-other
	if r == nil || o != r || f.n.Load() != 1 {
		t.Fatalf("leader %v, other waiter %v, %d fetches; want one shared result", r, o, f.n.Load())
	}
}

// TestTokenCacheStarterCancelled: when the caller that started the fetch
// gives up and the fetch fails for it, a waiter with a live context fetches
// again instead of returning the other caller's cancellation.
func TestTokenCacheStarterCancelled(t *testing.T) { synctest.Test(t, starterCancelled) }

func starterCancelled(t *testing.T) {
	c, _, f := newCacheRig(0)
	f.gate = make(chan struct{})
	f.began = make(chan struct{}, 2)
	ctx, cancel := context.WithCancel(context.Background())
	starter := make(chan error, 1)
	go func() {
		_, err := c.get(ctx, "", f.fetch)
		starter <- err
	}()
	<-f.began
	waiter := make(chan error, 1)
	var got *Result
	go func() {
		var err error
		got, err = c.get(context.Background(), "", f.fetch)
		waiter <- err
	}()
	synctest.Wait() // the waiter joins the flight
	cancel()
	if err := <-starter; !errors.Is(err, context.Canceled) {
		t.Fatalf("starter: %v", err)
	}
	select {
	case <-f.began: // the waiter's own fetch
	case err := <-waiter:
		t.Fatalf("the waiter returned %v instead of fetching again", err)
	}
	close(f.gate)
	if err := <-waiter; err != nil || got == nil {
		t.Fatalf("waiter: %v %v; want a result of its own fetch", got, err)
	}
	if n := f.n.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestTokenCacheDrop: a dropped result is fetched again; a fetch in
// progress survives a drop and its result is cached.
func TestTokenCacheDrop(t *testing.T) { synctest.Test(t, cacheDrop) }

func cacheDrop(t *testing.T) {
	c, _, f := newCacheRig(4)
	first, _ := c.get(context.Background(), "k", f.fetch)
	c.drop("k")
	second, _ := c.get(context.Background(), "k", f.fetch)
	if second == first || f.n.Load() != 2 {
		t.Fatalf("after drop: same result or %d fetches", f.n.Load())
	}

	f.gate = make(chan struct{})
	c.drop("k")
	done := make(chan *Result, 1)
	go func() {
		r, _ := c.get(context.Background(), "k", f.fetch)
		done <- r
	}()
	waitFlight(t, c, "k")
	c.dropAll()
	close(f.gate)
	third := <-done
	if r, _ := c.get(context.Background(), "k", f.fetch); r != third || f.n.Load() != 3 {
		t.Fatalf("the result of a fetch in progress at dropAll was not cached (%d fetches)", f.n.Load())
	}
}

// TestTokenCacheBoundEntries: at most max bound entries are kept besides the
// unbound one; an entry with a fetch in progress is not evicted.
func TestTokenCacheBoundEntries(t *testing.T) { synctest.Test(t, boundEntries) }

func boundEntries(t *testing.T) {
	c, _, f := newCacheRig(2)
	ctx := context.Background()
	for _, k := range []string{"", "a", "b", "c", "d"} {
		if _, err := c.get(ctx, k, f.fetch); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		n := len(c.entries)
		c.mu.Unlock()
		if n > 3 {
			t.Fatalf("after %q: %d entries, want at most 2 bound and the unbound one", k, n)
		}
	}
	if c.peek("") == nil {
		t.Fatal("the unbound entry was evicted")
	}

	gate := make(chan struct{})
	slow := func(ctx context.Context) (*Result, error) {
		<-gate
		return f.fetch(ctx)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.get(ctx, "slow", slow)
		done <- err
	}()
	fl := waitFlight(t, c, "slow")
	for _, k := range []string{"e", "f", "g"} {
		if _, err := c.get(ctx, k, f.fetch); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	e := c.entries["slow"]
	c.mu.Unlock()
	if e == nil || e.flight != fl {
		t.Fatal("an entry with a fetch in progress was evicted")
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.peek("slow") == nil {
		t.Fatal("the result of the slow fetch was not cached")
	}
}

// TestClientTokenShortLived: Client.Token serves a token whose lifetime is
// shorter than RefreshBefore for half its lifetime instead of attesting on
// every call.
func TestClientTokenShortLived(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	var attests atomic.Int32
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/v1/challenge":
			_ = json.NewEncoder(w).Encode(map[string]any{"nonce": "n", "expires_at": clock.Now().Unix() + 60})
		case "/v1/attest":
			n := attests.Add(1)
			_ = json.NewEncoder(w).Encode(Result{Token: fmt.Sprint("t", n), ExpiresAt: clock.Now().Unix() + 20})
		default:
			http.NotFound(w, r)
		}
	}))
	defer edge.Close()
	c, err := New(Config{BaseURL: edge.URL, Now: clock.Now,
		App: App{ID: "a", Version: "1", Platform: "android", Signer: make([]byte, 32), CodeDigest: make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Token(ctx, Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(9 * time.Second)
	if r, err := c.Token(ctx, Evidence{}); err != nil || r != first || attests.Load() != 1 {
		t.Fatalf("9 s into a 20 s token: %v %v, %d attestations; want the cached token", r, err, attests.Load())
	}
	clock.Advance(time.Second)
	if r, err := c.Token(ctx, Evidence{}); err != nil || r == first || attests.Load() != 2 {
		t.Fatalf("at half its lifetime: %v %v, %d attestations; want a new token", r, err, attests.Load())
	}
	c.Invalidate()
	if r, _ := c.Token(ctx, Evidence{}); c.latest() != r || attests.Load() != 3 {
		t.Fatalf("after Invalidate: %d attestations", attests.Load())
	}
}
