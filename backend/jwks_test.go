package backend

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attestd/attestd/crypto/token"
)

// jwksVerifier is a Verifier on srv's JWKS with the default rate limit (30 s)
// and max-age (5 min), on clk.
func jwksVerifier(t *testing.T, srv *jwksServer, clk *clock, edit ...func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{JWKSURL: srv.url(), Audience: "acme", Now: clk.Now, HTTPClient: srv.Client()}
	for _, e := range edit {
		e(&cfg)
	}
	return newVerifier(t, cfg)
}

func verifyOK(t *testing.T, v *Verifier, tok string) {
	t.Helper()
	if _, err := v.Verify(context.Background(), tok, nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func wantFetches(t *testing.T, srv *jwksServer, n int32) {
	t.Helper()
	if got := srv.fetches.Load(); got != n {
		t.Fatalf("%d JWKS fetches, want %d", got, n)
	}
}

func TestJWKSLazyFetchAndCache(t *testing.T) {
	clk := newClock()
	es := esSigner(t, "es-1")
	srv := newJWKSServer(t, pub(t, es))
	v := jwksVerifier(t, srv, clk)
	wantFetches(t, srv, 0) // New does no I/O
	tok := mint(t, es, claimsAt(clk.Now()))
	verifyOK(t, v, tok)
	wantFetches(t, srv, 1)
	for range 10 {
		verifyOK(t, v, tok)
	}
	wantFetches(t, srv, 1)
	clk.Advance(DefaultJWKSMaxAge - time.Second)
	verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
	wantFetches(t, srv, 1)
	clk.Advance(time.Second) // the default max-age has passed
	verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
	wantFetches(t, srv, 2)
}

// TestJWKSKidMiss: a kid the cache lacks triggers a fetch, at most one per
// JWKSMinRefresh.
func TestJWKSKidMiss(t *testing.T) {
	clk := newClock()
	es1, es2, es3 := esSigner(t, "es-1"), esSigner(t, "es-2"), esSigner(t, "es-3")
	srv := newJWKSServer(t, pub(t, es1))
	v := jwksVerifier(t, srv, clk)
	verifyOK(t, v, mint(t, es1, claimsAt(clk.Now())))
	wantFetches(t, srv, 1)

	// The account rotates in es-2; within the rate limit, no fetch.
	srv.set(func(s *jwksServer) { s.keys = append(s.keys, pub(t, es2)) })
	clk.Advance(10 * time.Second)
	if _, err := v.Verify(context.Background(), mint(t, es2, claimsAt(clk.Now())), nil); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("kid miss within the rate limit: %v", err)
	}
	wantFetches(t, srv, 1)

	// Past the limit, the miss fetches and the token verifies.
	clk.Advance(DefaultJWKSMinRefresh)
	verifyOK(t, v, mint(t, es2, claimsAt(clk.Now())))
	wantFetches(t, srv, 2)

	// A kid nobody has: one fetch, then none for JWKSMinRefresh however
	// many tokens name it.
	clk.Advance(DefaultJWKSMinRefresh)
	for range 20 {
		if _, err := v.Verify(context.Background(), mint(t, es3, claimsAt(clk.Now())), nil); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	wantFetches(t, srv, 3)
	verifyOK(t, v, mint(t, es1, claimsAt(clk.Now()))) // known kids still verify
}

// TestJWKSConcurrentMisses: many requests missing the same kid at once make
// one fetch, and all verify.
func TestJWKSConcurrentMisses(t *testing.T) { synctest.Test(t, concurrentMisses) }

func concurrentMisses(t *testing.T) {
	clk := newClock()
	es1, es2 := esSigner(t, "es-1"), esSigner(t, "es-2")
	srv, hc := newJWKSServerOnPipe(t, pub(t, es1))
	v := jwksVerifier(t, srv, clk, func(c *Config) { c.HTTPClient = hc })
	verifyOK(t, v, mint(t, es1, claimsAt(clk.Now())))
	clk.Advance(time.Minute)

	hold := make(chan struct{})
	srv.set(func(s *jwksServer) { s.keys = append(s.keys, pub(t, es2)); s.hold = hold })
	tok := mint(t, es2, claimsAt(clk.Now()))
	const n = 64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok, nil)
			errs <- err
		})
	}
	synctest.Wait() // all of them wait: one fetch is held, the others wait for it
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("%d fetches in flight or done, want the first and one held", got)
	}
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent miss: %v", err)
		}
	}
	wantFetches(t, srv, 2)
}

func TestJWKSCacheControl(t *testing.T) {
	cases := []struct {
		header string
		fresh  time.Duration // still cached after this long
		stale  time.Duration // fetched again after this long
	}{
		{"max-age=120", 119 * time.Second, 120 * time.Second},
		{"public, max-age=600, must-revalidate", 599 * time.Second, 600 * time.Second},
		{"max-age=5", 29 * time.Second, 30 * time.Second},        // raised to JWKSMinRefresh
		{"no-store", 29 * time.Second, 30 * time.Second},         // 0, raised to JWKSMinRefresh
		{"max-age=31536000", 23 * time.Hour, 24 * time.Hour},     // lowered to JWKSMaxAgeLimit
		{"max-age=nonsense", 4 * time.Minute, DefaultJWKSMaxAge}, // ignored: the default
		{"", DefaultJWKSMaxAge - time.Second, DefaultJWKSMaxAge}, // none: the default
	}
	for _, tc := range cases {
		t.Run(tc.header, func(t *testing.T) {
			clk := newClock()
			es := esSigner(t, "es-1")
			srv := newJWKSServer(t, pub(t, es))
			srv.set(func(s *jwksServer) { s.cacheControl = tc.header })
			v := jwksVerifier(t, srv, clk)
			start := clk.Now()
			verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
			clk.Advance(tc.fresh)
			verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
			wantFetches(t, srv, 1)
			clk.Advance(start.Add(tc.stale).Sub(clk.Now()))
			verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
			wantFetches(t, srv, 2)
		})
	}
}

// TestJWKSOutage: when the JWKS cannot be fetched, the last good keys keep
// verifying, and attempts are spaced by JWKSMinRefresh.
func TestJWKSOutage(t *testing.T) {
	clk := newClock()
	es := esSigner(t, "es-1")
	srv := newJWKSServer(t, pub(t, es))
	v := jwksVerifier(t, srv, clk)
	verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
	srv.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
	clk.Advance(DefaultJWKSMaxAge)
	before := srv.fetches.Load()
	for range 5 {
		verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
	}
	wantFetches(t, srv, before+1)
	if err := v.Refresh(context.Background()); !errors.Is(err, ErrJWKS) {
		t.Fatalf("Refresh during the outage: %v", err)
	}
	wantFetches(t, srv, before+2)
	// An unknown kid during the outage says why it could not be looked up.
	clk.Advance(DefaultJWKSMinRefresh)
	_, err := v.Verify(context.Background(), mint(t, esSigner(t, "es-9"), claimsAt(clk.Now())), nil)
	if !errors.Is(err, token.ErrUnknownKey) || !errors.Is(err, ErrJWKS) {
		t.Fatalf("unknown kid during the outage: %v", err)
	}
	srv.set(func(s *jwksServer) { s.status = http.StatusOK })
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after the outage: %v", err)
	}
}

func TestJWKSBadDocumentKeepsKeys(t *testing.T) {
	clk := newClock()
	es := esSigner(t, "es-1")
	hs := hsSigner(t, "hs-1")
	srv := newJWKSServer(t, pub(t, es))
	v := jwksVerifier(t, srv, clk, func(c *Config) { c.Keys = []token.VerifyKey{hs.Verifier()} })
	verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
	verifyOK(t, v, mint(t, hs, claimsAt(clk.Now()))) // static and fetched keys together
	// The JWKS now publishes a kid that is also a static key: refused whole.
	clash := esSigner(t, "hs-1")
	srv.set(func(s *jwksServer) { s.keys = append(s.keys, pub(t, clash)) })
	if err := v.Refresh(context.Background()); !errors.Is(err, ErrJWKS) {
		t.Fatalf("Refresh with a clashing kid: %v", err)
	}
	verifyOK(t, v, mint(t, hs, claimsAt(clk.Now())))
	verifyOK(t, v, mint(t, es, claimsAt(clk.Now())))
}

// TestJWKSTimeouts: a hung JWKS server delays a request by at most
// JWKSTimeout, or less when the caller's context ends first.
func TestJWKSTimeouts(t *testing.T) {
	clk := newClock()
	es := esSigner(t, "es-1")
	srv := newJWKSServer(t, pub(t, es))
	// The server hangs until the test ends, so only the timeout can end a
	// request, however slow the machine.
	hang := make(chan struct{})
	srv.set(func(s *jwksServer) { s.hold = hang })
	t.Cleanup(func() { close(hang) }) // before the server closes
	tok := mint(t, es, claimsAt(clk.Now()))

	v := jwksVerifier(t, srv, clk, func(c *Config) { c.JWKSTimeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := v.Verify(context.Background(), tok, nil)
	if !errors.Is(err, token.ErrUnknownKey) || !errors.Is(err, ErrJWKS) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("fetch timeout took %v", d)
	}

	v = jwksVerifier(t, srv, clk)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = v.Verify(ctx, tok, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	// Well under DefaultJWKSTimeout (10 s): the caller's deadline ended it.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("caller deadline took %v", d)
	}
}

func TestJWKSRedirectRefused(t *testing.T) {
	clk := newClock()
	es := esSigner(t, "es-1")
	srv := newJWKSServer(t, pub(t, es))
	redirect := newJWKSServer(t)
	redirect.Config.Handler = http.RedirectHandler(srv.url(), http.StatusFound)
	v := newVerifier(t, Config{JWKSURL: redirect.url(), Audience: "acme", Now: clk.Now})
	if err := v.Refresh(context.Background()); !errors.Is(err, ErrJWKS) {
		t.Fatalf("Refresh through a redirect: %v", err)
	}
	wantFetches(t, srv, 0)
}

func TestCacheMaxAge(t *testing.T) {
	def := time.Minute
	for in, want := range map[string]time.Duration{
		"":                             def,
		"max-age=0":                    0,
		"MAX-AGE=10":                   10 * time.Second,
		`max-age="20"`:                 20 * time.Second,
		"private, no-cache":            0,
		"max-age=10, no-store":         0,
		"max-age=-1":                   def,
		"max-age=99999999999999999999": def,
		"max-age=9999999999999":        time.Duration(int64(1<<62)/int64(time.Second)) * time.Second,
		"s-maxage=5":                   def,
		"max-age=30, max-age=60":       30 * time.Second,
	} {
		if got := cacheMaxAge([]string{in}, def); got != want {
			t.Errorf("cacheMaxAge(%q) = %v, want %v", in, got, want)
		}
	}
}
