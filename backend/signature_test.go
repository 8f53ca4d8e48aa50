package backend

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
)

// Request signatures (PROTOCOL.md §12) over both middlewares, each attack
// by name: the same cases run over net/http and fasthttp, with real
// clients on loopback.

// signedServers start the middleware of v, requiring signatures s, in
// front of a handler that answers the claims' did and the body it read.
var signedServers = map[string]func(t *testing.T, v *Verifier, s *Signatures) string{
	"net-http": func(t *testing.T, v *Verifier, s *Signatures) string {
		srv := httptest.NewServer(v.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := ClaimsFrom(r.Context())
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_ = json.NewEncoder(w).Encode(echo{Device: c.Device, Body: string(b), Bound: c.HasConfirmation()})
		}), WithRequestSignatures(s)))
		t.Cleanup(srv.Close)
		return srv.URL
	},
	"fasthttp": func(t *testing.T, v *Verifier, s *Signatures) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{
			Handler: v.Fasthttp(func(ctx *fasthttp.RequestCtx) {
				c, _ := ClaimsFromFasthttp(ctx)
				b, _ := json.Marshal(echo{Device: c.Device, Body: string(ctx.Request.Body()), Bound: c.HasConfirmation()})
				ctx.SetBody(b)
			}, WithRequestSignatures(s)),
			ReadTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, MaxRequestBodySize: 4 << 20,
			StreamRequestBody: true,
		}
		var wg sync.WaitGroup
		wg.Go(func() { _ = srv.Serve(ln) })
		t.Cleanup(func() { _ = srv.Shutdown(); wg.Wait() })
		return "http://" + ln.Addr().String()
	},
}

type echo struct {
	Device string `json:"did"`
	Body   string `json:"body"`
	Bound  bool   `json:"bound"`
}

// sigRig is a verifier of account acme with an HS256 key, a device, and
// a settable clock.
type sigRig struct {
	clk    *clock
	signer *token.Signer
	v      *Verifier
	device *ecdsa.PrivateKey
}

func newSigRig(t *testing.T) *sigRig {
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &sigRig{clk: clk, signer: hs, device: k,
		v: newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now})}
}

// token is a token of the rig's device, bound to its key when bound.
func (r *sigRig) token(t *testing.T, bound bool) string {
	c := claimsAt(r.clk.Now())
	if bound {
		pt, _ := r.device.PublicKey.Bytes()
		c.Confirmation = [token.ConfirmationSize]byte(pt)
		c.Device = string(httpsig.DID(nil, pt))
	}
	return mint(t, r.signer, c)
}

// request is a request as the client sends it: token, Content-Digest of
// the body, signed with key at created (nothing signed when key is nil).
// authority overrides the signed @authority when not empty.
func request(t *testing.T, method, u, tok string, body []byte, key *ecdsa.PrivateKey, created time.Time, authority string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Attest-Token", tok)
	if len(body) > 0 {
		req.Header.Set("Content-Digest", string(httpsig.AppendContentDigest(nil, body)))
	}
	if key == nil {
		return req
	}
	msg := httpsig.ClientRequest(req)
	if authority != "" {
		msg.Authority = authority
	}
	in, sig, err := httpsig.SignRequest(&msg, len(body) > 0, key, created.Unix())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Signature-Input", "att="+in)
	req.Header.Set("Signature", "att="+sig)
	return req
}

type answer struct {
	status int
	code   string
	msg    string
	echo   echo
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	if req.GetBody != nil { // a request may be sent twice (replays)
		req.Body, _ = req.GetBody()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &a.echo); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
		return a
	}
	var e map[string]string
	_ = json.Unmarshal(b, &e)
	a.code, a.msg = e["error"], e["message"]
	return a
}

func TestSignedRequestsOverBothMiddlewares(t *testing.T) {
	for name, start := range signedServers {
		t.Run(name, func(t *testing.T) {
			r := newSigRig(t)
			s := NewSignatures(SignatureConfig{MaxBodyBytes: 1 << 10})
			base := start(t, r.v, s)
			now := r.clk.Now()
			bound := r.token(t, true)
			body := []byte(`{"amount":42}`)

			t.Run("genuine-post", func(t *testing.T) {
				a := send(t, request(t, "POST", base+"/pay?to=bob&n=1", bound, body, r.device, now, ""))
				pt, _ := r.device.PublicKey.Bytes()
				if a.status != 200 || a.echo.Body != string(body) || !a.echo.Bound || a.echo.Device != string(httpsig.DID(nil, pt)) {
					t.Fatalf("%+v", a)
				}
			})
			t.Run("genuine-get", func(t *testing.T) {
				if a := send(t, request(t, "GET", base+"/items", bound, nil, r.device, now, "")); a.status != 200 {
					t.Fatalf("%+v", a)
				}
			})
			refused := func(t *testing.T, req *http.Request, code string) {
				t.Helper()
				if a := send(t, req); a.status != 401 || a.code != code {
					t.Fatalf("%+v, want 401 %s", a, code)
				}
			}
			t.Run("replay", func(t *testing.T) {
				req := request(t, "POST", base+"/pay", bound, body, r.device, now, "")
				if a := send(t, req); a.status != 200 {
					t.Fatalf("first: %+v", a)
				}
				a := send(t, req)
				if a.status != 401 || a.code != "request_signature_invalid" || a.msg != "request signature replayed" {
					t.Fatalf("replay: %+v", a)
				}
			})
			t.Run("unsigned", func(t *testing.T) {
				refused(t, request(t, "GET", base+"/items", bound, nil, nil, now, ""), "request_signature_invalid")
			})
			t.Run("token-without-cnf", func(t *testing.T) {
				refused(t, request(t, "GET", base+"/items", r.token(t, false), nil, r.device, now, ""), "request_signature_invalid")
			})
			t.Run("bad-token-first", func(t *testing.T) {
				refused(t, request(t, "GET", base+"/items", bound+"x", nil, r.device, now, ""), "token_invalid")
			})
			t.Run("stale", func(t *testing.T) {
				refused(t, request(t, "GET", base+"/items", bound, nil, r.device, now.Add(-61*time.Second), ""), "request_signature_invalid")
			})
			t.Run("from-the-future", func(t *testing.T) {
				refused(t, request(t, "GET", base+"/items", bound, nil, r.device, now.Add(61*time.Second), ""), "request_signature_invalid")
			})
			t.Run("another-key", func(t *testing.T) {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				refused(t, request(t, "GET", base+"/items", bound, nil, k, now, ""), "request_signature_invalid")
			})
			t.Run("body-changed-digest-kept", func(t *testing.T) {
				req := request(t, "POST", base+"/pay", bound, body, r.device, now, "")
				other := []byte(`{"amount":4200}`)
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
				req.GetBody = nil
				a := send(t, req)
				if a.status != 401 || a.code != "request_signature_invalid" || !strings.Contains(a.msg, "digest") {
					t.Fatalf("%+v", a)
				}
			})
			t.Run("path-changed", func(t *testing.T) {
				req := request(t, "GET", base+"/items", bound, nil, r.device, now, "")
				req.URL.Path = "/admin"
				refused(t, req, "request_signature_invalid")
			})
			t.Run("query-changed", func(t *testing.T) {
				req := request(t, "GET", base+"/items?id=1", bound, nil, r.device, now, "")
				req.URL.RawQuery = "id=2"
				refused(t, req, "request_signature_invalid")
			})
			t.Run("body-too-large", func(t *testing.T) {
				big := bytes.Repeat([]byte("x"), 2<<10)
				if a := send(t, request(t, "POST", base+"/pay", bound, big, r.device, now, "")); a.status != 413 || a.code != "body_too_large" {
					t.Fatalf("%+v", a)
				}
			})
		})
	}
}

// TestSignedRequestBehindATLSTerminator: the app signs the authority it
// addresses (api.example.com); the server sees another Host. With its
// external authority configured, the server verifies; without, it refuses.
func TestSignedRequestBehindATLSTerminator(t *testing.T) {
	for name, start := range signedServers {
		t.Run(name, func(t *testing.T) {
			r := newSigRig(t)
			now := r.clk.Now()
			bound := r.token(t, true)
			external := start(t, r.v, NewSignatures(SignatureConfig{Authority: "API.example.com"}))
			if a := send(t, request(t, "GET", external+"/items", bound, nil, r.device, now, "api.example.com")); a.status != 200 {
				t.Fatalf("with Authority configured: %+v", a)
			}
			local := start(t, r.v, NewSignatures(SignatureConfig{}))
			if a := send(t, request(t, "GET", local+"/items", bound, nil, r.device, now, "api.example.com")); a.status != 401 {
				t.Fatalf("without: %+v", a)
			}
			u, _ := url.Parse(local)
			if a := send(t, request(t, "GET", local+"/items", bound, nil, r.device, now, u.Host)); a.status != 200 {
				t.Fatalf("the Host as the server sees it: %+v", a)
			}
		})
	}
}

// TestReplayCacheFullFailsClosed: a replay cache with no room answers 503
// and lets nothing through unrecorded.
func TestReplayCacheFullFailsClosed(t *testing.T) {
	for name, start := range signedServers {
		t.Run(name, func(t *testing.T) {
			r := newSigRig(t)
			now := r.clk.Now()
			bound := r.token(t, true)
			base := start(t, r.v, NewSignatures(SignatureConfig{Replay: NewMemoryReplayCache(1)}))
			// One entry per shard: sign until one lands in a full shard.
			for i := 0; i < 200; i++ {
				a := send(t, request(t, "GET", base+"/items", bound, nil, r.device, now, ""))
				if a.status == 503 {
					if a.code != "overloaded" {
						t.Fatalf("%+v", a)
					}
					return
				}
				if a.status != 200 {
					t.Fatalf("%+v", a)
				}
			}
			t.Fatal("200 signatures in a cache of 16 entries and never a 503")
		})
	}
}

func TestMemoryReplayCache(t *testing.T) {
	c := NewMemoryReplayCache(32)
	ctx := context.Background()
	now := time.Unix(1_760_000_000, 0)
	id := httpsig.ID{1}
	if fresh, err := c.Add(ctx, id, now, now.Add(2*time.Second)); !fresh || err != nil {
		t.Fatalf("first add: %v %v", fresh, err)
	}
	if fresh, err := c.Add(ctx, id, now.Add(time.Second), now.Add(3*time.Second)); fresh || err != nil {
		t.Fatalf("replay within the window: %v %v", fresh, err)
	}
	if fresh, err := c.Add(ctx, id, now.Add(2*time.Second), now.Add(4*time.Second)); !fresh || err != nil {
		t.Fatalf("after until: %v %v", fresh, err)
	}
	// Another shard than id's holds 2 entries; time frees it.
	other := httpsig.ID{2}
	for c.shard(other) == c.shard(id) {
		other[1]++
	}
	same := sameShard(c, other, 3)
	for _, other := range same[:2] {
		if fresh, err := c.Add(ctx, other, now, now.Add(time.Second)); !fresh || err != nil {
			t.Fatalf("filling: %v %v", fresh, err)
		}
	}
	if _, err := c.Add(ctx, same[2], now, now.Add(time.Second)); !errors.Is(err, ErrReplayFull) {
		t.Fatalf("a full shard took another entry: %v", err)
	}
	if fresh, err := c.Add(ctx, same[2], now.Add(time.Second), now.Add(2*time.Second)); !fresh || err != nil {
		t.Fatalf("expired entries were not dropped: %v %v", fresh, err)
	}
	if n := c.Len(); n > 3 {
		t.Fatalf("%d entries held", n)
	}
}

// sameShard returns n ids other than id that c keeps in id's shard.
func sameShard(c *MemoryReplayCache, id httpsig.ID, n int) []httpsig.ID {
	var out []httpsig.ID
	for i := 1; len(out) < n; i++ {
		other := httpsig.ID{0: byte(i), 1: byte(i >> 8), 2: byte(i >> 16)}
		if other != id && c.shard(other) == c.shard(id) {
			out = append(out, other)
		}
	}
	return out
}

// TestGroundSignatureIDsDoNotFillOneShard: a signer who grinds signatures
// until their ids share what picks a shard (here all with the same first
// byte, which picked the shard before) cannot fill one shard with a
// sixteenth of the capacity: 256 such signatures in a cache of 1,024 (64
// a shard) are all taken, spread by the cache's keyed hash.
func TestGroundSignatureIDsDoNotFillOneShard(t *testing.T) {
	c := NewMemoryReplayCache(1024)
	ctx := context.Background()
	now := time.Unix(1_760_000_000, 0)
	for i := range 256 {
		id := httpsig.ID{0: 0x10, 1: byte(i), 2: byte(i >> 8)}
		if fresh, err := c.Add(ctx, id, now, now.Add(time.Minute)); !fresh || err != nil {
			t.Fatalf("signature %d of 256 in a cache of 1,024: fresh %v, %v", i, fresh, err)
		}
	}
}
