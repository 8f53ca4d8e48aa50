package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/proxytest"
)

// TestOneTokenCannotTakeEveryProxyPlace is the one-token denial of the
// proxy, over either adapter, with the node's real limiter: a token whose
// device holds its share of the proxy's places (requests the upstream is
// still reading) is refused 429 rate_limited with Retry-After 1, and
// nothing of it reaches the upstream, while another device's token of
// the same account passes; once its requests are answered, its places
// are back. Before, nothing but the pool's bound limited one token.
func TestOneTokenCannotTakeEveryProxyPlace(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			l, err := limit.New(limit.Config{ProxyMaxInFlight: 8, ProxyMaxInFlightPerDevice: 2})
			if err != nil {
				t.Fatal(err)
			}
			w.cfg.Admit, w.cfg.AdmitDevice = l.AdmitProxied, l.AdmitDevice
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			arrived, release := make(chan struct{}, 8), make(chan struct{})
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/hold") {
					arrived <- struct{}{}
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
				_, _ = rw.Write([]byte("ok"))
			})
			attacker := map[string]string{TokenHeader: w.token(token.Claims{Subject: "app", Device: "attacker-did"})}
			victim := map[string]string{TokenHeader: w.token(token.Claims{Subject: "app", Device: "victim-did"})}
			done := make(chan answer, 2)
			for range 2 {
				go func() { done <- send(t, http.MethodGet, base+"/v1/proxy/hdr/hold", attacker, nil) }()
			}
			for range 2 {
				select {
				case <-arrived:
				case <-time.After(10 * time.Second):
					t.Fatal("the attacker's requests did not reach the upstream")
				}
			}
			_ = w.up.Take()
			a := send(t, http.MethodGet, base+"/v1/proxy/hdr/x", attacker, nil)
			if a.status != http.StatusTooManyRequests || a.code(t) != string(apierr.RateLimited) || a.header.Get("Retry-After") != "1" {
				t.Errorf("the token's third request: %d %s, Retry-After %q; want 429 rate_limited, Retry-After 1", a.status, a.body, a.header.Get("Retry-After"))
			}
			if hits := w.up.Take(); len(hits) != 0 {
				t.Errorf("a request past its device's share reached the upstream")
			}
			if a := send(t, http.MethodGet, base+"/v1/proxy/hdr/x", victim, nil); a.status != http.StatusOK {
				t.Errorf("another device's request while the token holds its share: %d %s", a.status, a.body)
			}
			close(release)
			for range 2 {
				if a := <-done; a.status != http.StatusOK {
					t.Errorf("a held request: %d %s", a.status, a.body)
				}
			}
			if a := send(t, http.MethodGet, base+"/v1/proxy/hdr/x", attacker, nil); a.status != http.StatusOK {
				t.Errorf("the token once its requests were answered: %d %s", a.status, a.body)
			}
			if p, d := l.DevicesInFlight(); p != 0 || d != 0 || l.ProxyInFlight() != 0 {
				t.Errorf("held at the end: %d device places of %d devices, %d pool places", p, d, l.ProxyInFlight())
			}
			if s := l.Stats(); s.ProxyDeviceLimited != 1 {
				t.Errorf("refusals counted: %d, want 1", s.ProxyDeviceLimited)
			}
		})
	}
}

// TestDevicePlaceFollowsThePoolPlace: the device's place is asked for
// with the token's account and did, only once the token has verified
// (a request without a valid token takes none), is held while the
// upstream reads the request, and is given back with the pool's place;
// a device refusal gives the pool's place back, grants no stream
// timeout and forwards nothing.
func TestDevicePlaceFollowsThePoolPlace(t *testing.T) {
	w := newWorld(t)
	w.cfg.StreamTimeout = 7 * time.Minute
	var pool, dev, asked atomic.Int64
	var refuse atomic.Bool
	var who atomic.Value
	w.cfg.Admit = func() (func(), error) {
		pool.Add(1)
		return func() { pool.Add(-1) }, nil
	}
	w.cfg.AdmitDevice = func(account string, device []byte) (func(), error) {
		asked.Add(1)
		who.Store(account + "/" + string(device))
		if refuse.Load() {
			return nil, apierr.ErrRateLimited
		}
		dev.Add(1)
		return func() { dev.Add(-1) }, nil
	}
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var atUpstream [2]int64
	w.up.Answer(func(rw http.ResponseWriter, _ *http.Request) {
		atUpstream = [2]int64{pool.Load(), dev.Load()}
		_, _ = rw.Write([]byte("ok"))
	})
	good := w.token(token.Claims{Subject: "app", Device: "the-did"})
	run := func(tok, path string) (time.Duration, error) {
		var got time.Duration
		in := &inbound{method: http.MethodPost, authority: "edge.test", path: path, header: http.Header{},
			logCtx: context.Background(), extend: func(d time.Duration) { got = d }}
		if tok != "" {
			in.header.Set(TokenHeader, tok)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := p.admitForward(ctx, cancel, in)
		if err == nil {
			_ = resp.Body.Close()
		}
		return got, err
	}
	if _, err := run(good, "/v1/proxy/hdr/x"); err != nil {
		t.Fatal(err)
	}
	if atUpstream != [2]int64{1, 1} || pool.Load() != 0 || dev.Load() != 0 {
		t.Errorf("places at the upstream %v (want pool 1, device 1), after %d, %d (want 0, 0)", atUpstream, pool.Load(), dev.Load())
	}
	if got := who.Load(); got != testAccount+"/the-did" {
		t.Errorf("the device's place was asked for %q", got)
	}
	for _, tc := range []struct{ tok, path string }{{"", "/v1/proxy/hdr/x"}, {good[:len(good)-2] + "AA", "/v1/proxy/hdr/x"}, {good, "/v1/proxy/none/x"}} {
		if _, err := run(tc.tok, tc.path); err == nil {
			t.Errorf("%q %s: passed", tc.tok, tc.path)
		}
	}
	if asked.Load() != 1 {
		t.Errorf("device places asked for: %d, want 1 (requests without a valid token take none)", asked.Load())
	}
	refuse.Store(true)
	_ = w.up.Take()
	extended, err := run(good, "/v1/proxy/hdr/x")
	if pub := apierr.From(err); err == nil || pub.Code != apierr.RateLimited {
		t.Errorf("a device refusal answered %v", err)
	}
	if extended != 0 || pool.Load() != 0 || len(w.up.Take()) != 0 {
		t.Errorf("a device refusal: extended %v, pool places %d, forwarded: want 0, 0, nothing", extended, pool.Load())
	}
}

// readCounter is a request body that counts the bytes read of it.
type readCounter struct {
	r    *strings.Reader
	read atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestStolenBoundTokenTakesNoPlaceAndReadsNoBody: for an API that
// requires request signatures, a bound token without its device key (a
// copied token, sent unsigned, signed by another key, or with a replayed
// signature) is refused request_signature_invalid having taken no device
// place and no stream timeout and having had no byte of its body read: it
// could otherwise hold its victim's share of the places, and buffer up to
// MaxBodyBytes each, for the stream timeout. A signed request takes its
// place, gets the stream timeout, and its body is read and checked.
func TestStolenBoundTokenTakesNoPlaceAndReadsNoBody(t *testing.T) {
	w, key := signedWorld(t)
	w.cfg.StreamTimeout = 7 * time.Minute
	var asked atomic.Int64
	w.cfg.AdmitDevice = func(string, []byte) (func(), error) {
		asked.Add(1)
		return func() {}, nil
	}
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	bound := w.token(boundClaims(key))
	body := `{"amount":42}`
	run := func(req *http.Request) (time.Duration, *readCounter, error) {
		var got time.Duration
		rc := &readCounter{r: strings.NewReader(body)}
		in := &inbound{method: req.Method, authority: req.URL.Host, path: req.URL.Path, header: req.Header.Clone(), body: rc,
			length: int64(len(body)), logCtx: context.Background(), extend: func(d time.Duration) { got = d }}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := p.admitForward(ctx, cancel, in)
		if err == nil {
			_ = resp.Body.Close()
		}
		return got, rc, err
	}
	const u = "http://edge.test/v1/proxy/signed/pay"
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	genuine := signedRequest(t, http.MethodPost, u, bound, []byte(body), key, w.now, "")
	for name, req := range map[string]*http.Request{
		"unsigned":        signedRequest(t, http.MethodPost, u, bound, []byte(body), nil, w.now, ""),
		"another-key":     signedRequest(t, http.MethodPost, u, bound, []byte(body), other, w.now, ""),
		"signed-for-else": signedRequest(t, http.MethodPost, u+"x", bound, []byte(body), key, w.now, ""),
	} {
		req.URL.Path = "/v1/proxy/signed/pay"
		extended, rc, err := run(req)
		if pub := apierr.From(err); pub == nil || pub.Code != apierr.RequestSignatureInvalid {
			t.Errorf("%s: %v, want request_signature_invalid", name, err)
		}
		if extended != 0 || rc.read.Load() != 0 || asked.Load() != 0 {
			t.Errorf("%s: stream timeout %v, %d body bytes read, %d device places asked: want none", name, extended, rc.read.Load(), asked.Load())
		}
	}
	extended, rc, err := run(genuine)
	if err != nil || extended != 7*time.Minute || rc.read.Load() != int64(len(body)) || asked.Load() != 1 {
		t.Fatalf("the signed request: %v, stream timeout %v, %d body bytes read, %d device places asked", err, extended, rc.read.Load(), asked.Load())
	}
	extended, rc, err = run(genuine)
	if pub := apierr.From(err); pub == nil || pub.Code != apierr.RequestSignatureInvalid || extended != 0 || rc.read.Load() != 0 || asked.Load() != 1 {
		t.Errorf("the signed request replayed: %v, stream timeout %v, %d body bytes read, %d device places asked", err, extended, rc.read.Load(), asked.Load())
	}
}
