package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
)

// answerCounts is an Observer that also counts AnswerObserver outcomes.
type answerCounts struct {
	mu    sync.Mutex
	n     map[string]int
	event chan struct{} // one send per outcome, never blocking
}

func (c *answerCounts) Request(string, int, apierr.Code, time.Duration) {}

func (c *answerCounts) ProxyAnswer(outcome string) {
	c.mu.Lock()
	c.n[outcome]++
	c.mu.Unlock()
	select {
	case c.event <- struct{}{}:
	default:
	}
}

func (c *answerCounts) get(outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[outcome]
}

// await waits (10 s at most) until outcome has been counted n times: an
// answer's outcome is counted when its body is closed, which may be after
// the client has read what there was.
func (c *answerCounts) await(t *testing.T, outcome string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for c.get(outcome) < n {
		select {
		case <-c.event:
		case <-deadline:
			t.Fatalf("%s counted %d times, want %d", outcome, c.get(outcome), n)
		}
	}
}

// getCut GETs url and reads the answer whole, returning how the read
// ended (an error for an answer cut off).
func getCut(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// bodyWorld is newWorld with the odd-secret APIs and an Observer that
// counts what the body scrubbing did, over one listener.
func bodyWorld(t *testing.T, tr proxytest.Listener) (*world, string, map[string]string, *answerCounts) {
	t.Helper()
	w := newWorld(t)
	w.apis.apis["odd"] = &registry.API{Name: "odd", Account: testAccount, Upstream: w.up.URL + "/rec", Query: "key", Secret: secret.FromString(oddSecret)}
	w.apis.apis["oddhdr"] = &registry.API{Name: "oddhdr", Account: testAccount, Upstream: w.up.URL + "/rec", Header: "X-Api-Key", Secret: secret.FromString(oddSecret)}
	c := &answerCounts{n: map[string]int{}, event: make(chan struct{}, 1)}
	w.cfg.Observer = c
	w.cfg.MaxDecodedBytes = 1 << 20
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, tr.Start(t, p), map[string]string{"Attest-Token": w.token(token.Claims{})}, c
}

// secretForms are the forms an echo of s takes that no answer body may
// hold.
func secretForms(s string) []string {
	return []string{s, url.QueryEscape(s), strings.ToLower(url.QueryEscape(s)), url.PathEscape(s),
		strings.ReplaceAll(s, "/", `\/`), strconv.Quote(s)[1 : len(strconv.Quote(s))-1]}
}

func assertBodyHasNoSecret(t *testing.T, what string, a answer, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, f := range secretForms(s) {
			if bytes.Contains(a.body, []byte(f)) {
				t.Errorf("%s: the answer body holds the secret as %q: %q", what, f, a.body)
			}
		}
	}
}

// echoURL answers with the request's URL and target echoed, as an API's
// error page does, with a Content-Length.
func echoURL(rw http.ResponseWriter, r *http.Request) {
	body := fmt.Sprintf(`{"error":"invalid request %s","target":%q,"query":%q}`, r.URL.String(), r.RequestURI, r.URL.Query().Get("key"))
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(400)
	_, _ = io.WriteString(rw, body)
}

// TestProxyBodyEchoOfQuerySecretMasked: an upstream whose error page
// echoes the request URL (raw, as received and decoded) would give a
// query-injected secret to whoever holds a token; every form of it is
// masked, the answer keeps its length and the rest, and the masking is
// logged (without the secret) and counted. Over both listeners.
func TestProxyBodyEchoOfQuerySecretMasked(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, counts := bodyWorld(t, tr)
			w.up.Answer(echoURL)
			for _, api := range []string{"qry", "odd"} {
				a := send(t, "GET", base+Prefix+api+"/x?q=1", tok, nil)
				if a.status != 400 || !bytes.Contains(a.body, []byte(`"error":"invalid request /rec/x?`)) {
					t.Fatalf("%s: %d %q", api, a.status, a.body)
				}
				if cl := a.header.Get("Content-Length"); cl != strconv.Itoa(len(a.body)) {
					t.Errorf("%s: Content-Length %q for %d bytes", api, cl, len(a.body))
				}
				if !bytes.Contains(a.body, []byte("q=1&key=*")) {
					t.Errorf("%s: no mask where the secret was: %q", api, a.body)
				}
				assertBodyHasNoSecret(t, api, a, testSecret, oddSecret)
			}
			counts.await(t, AnswerMasked, 2)
			logs := w.logs.String()
			if !strings.Contains(logs, "masked the api's secret in an answer body") || strings.Contains(logs, testSecret) || strings.Contains(logs, "sec ret") {
				t.Errorf("the masking is not logged, or its log holds the secret:\n%s", logs)
			}
		})
	}
}

// TestProxyBodyEchoOfHeaderSecretMasked: an upstream that echoes the
// request's headers in its body (httpbin's /headers, a debug page) would
// give a header-injected secret away, raw or JSON-escaped; it is masked.
func TestProxyBodyEchoOfHeaderSecretMasked(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, _ := bodyWorld(t, tr)
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				s := r.Header.Get("X-Api-Key")
				fmt.Fprintf(rw, `{"headers":{"X-Api-Key":%q},"php":"%s","html":"<td>%s</td>"}`, s, strings.ReplaceAll(strings.ReplaceAll(s, "/", `\/`), `"`, `\"`), s)
			})
			for _, api := range []string{"hdr", "oddhdr"} {
				a := send(t, "GET", base+Prefix+api+"/headers", tok, nil)
				if a.status != 200 || !bytes.Contains(a.body, []byte(`{"headers":{"X-Api-Key":"*`)) {
					t.Fatalf("%s: %d %q", api, a.status, a.body)
				}
				assertBodyHasNoSecret(t, api, a, testSecret, oddSecret)
			}
		})
	}
}

// TestProxyBodyEchoSplitAcrossWritesMasked: an echo written one byte at a
// time, each flushed (so the proxy reads it in as many pieces), is masked
// all the same, and what precedes it is not held back.
func TestProxyBodyEchoSplitAcrossWritesMasked(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, _ := bodyWorld(t, tr)
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				body := "data: " + r.URL.String() + "\n\n"
				rc := http.NewResponseController(rw)
				for i := range len(body) {
					_, _ = io.WriteString(rw, body[i:i+1])
					_ = rc.Flush()
				}
			})
			for _, api := range []string{"qry", "odd"} {
				a := send(t, "GET", base+Prefix+api+"/events", tok, nil)
				if a.status != 200 || !bytes.HasPrefix(a.body, []byte("data: /rec/events?")) {
					t.Fatalf("%s: %d %q", api, a.status, a.body)
				}
				assertBodyHasNoSecret(t, api, a, testSecret, oddSecret)
			}
		})
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProxyGzipEchoMasked: an upstream that compresses its echo whatever
// the request asked (the proxy asks for identity) would hide the secret
// from a search of the bytes; the proxy decodes it, masks it, and passes
// it on decoded (no Content-Encoding, no stale Content-Length or digest,
// its ETag weak), gzip and deflate alike.
func TestProxyGzipEchoMasked(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, _ := bodyWorld(t, tr)
			var asked []string
			var mu sync.Mutex
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked = append(asked, r.Header.Values("Accept-Encoding")...)
				mu.Unlock()
				z := gzipped(t, []byte(`{"error":"bad `+r.URL.String()+`"}`))
				rw.Header().Set("Content-Encoding", "gzip")
				rw.Header().Set("Content-Length", strconv.Itoa(len(z)))
				sum := sha256.Sum256(z)
				rw.Header().Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
				rw.Header().Set("ETag", `"v1-gzip"`)
				_, _ = rw.Write(z)
			})
			for _, api := range []string{"qry", "odd"} {
				a := send(t, "GET", base+Prefix+api+"/x", map[string]string{"Attest-Token": tok["Attest-Token"], "Accept-Encoding": "gzip, br"}, nil)
				if a.status != 200 || !bytes.HasPrefix(a.body, []byte(`{"error":"bad /rec/x?`)) {
					t.Fatalf("%s: %d %q", api, a.status, a.body)
				}
				if ce := a.header.Get("Content-Encoding"); ce != "" {
					t.Errorf("%s: Content-Encoding %q on a decoded body", api, ce)
				}
				if cl := a.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
					t.Errorf("%s: Content-Length %s for %d bytes", api, cl, len(a.body))
				}
				if cd := a.header.Get("Content-Digest"); cd != "" {
					t.Errorf("%s: Content-Digest %q of the gzipped bytes on a decoded body", api, cd)
				}
				if et := a.header.Get("Etag"); et != `W/"v1-gzip"` {
					t.Errorf("%s: ETag %q on a decoded body, want the upstream's made weak", api, et)
				}
				assertBodyHasNoSecret(t, api, a, testSecret, oddSecret)
			}
			mu.Lock()
			if len(asked) != 2 || asked[0] != "identity" || asked[1] != "identity" {
				t.Errorf("the upstream was asked Accept-Encoding %q, want identity", asked)
			}
			mu.Unlock()
		})
	}
}

// TestProxyUnsearchableEncodingRefused: an answer in an encoding the proxy
// cannot decode (br, zstd, a chain of codings) could hold the secret
// unsearched: it is refused 502 bad_gateway, its bytes never pass, the
// refusal is logged with its reason and counted.
func TestProxyUnsearchableEncodingRefused(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, counts := bodyWorld(t, tr)
			for _, ce := range []string{"br", "zstd", "gzip, gzip", "compress"} {
				w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
					rw.Header().Set("Content-Encoding", ce)
					_, _ = io.WriteString(rw, "opaque "+r.URL.String())
				})
				a := send(t, "GET", base+Prefix+"qry/x", tok, nil)
				if a.status != 502 || a.code(t) != "bad_gateway" {
					t.Errorf("%s: %d %q, want 502 bad_gateway", ce, a.status, a.body)
				}
				assertBodyHasNoSecret(t, ce, a, testSecret)
				if bytes.Contains(a.body, []byte("opaque")) {
					t.Errorf("%s: the upstream's bytes passed: %q", ce, a.body)
				}
			}
			if got := counts.get(AnswerUnsearchable); got != 4 {
				t.Errorf("%d refusals counted, want 4", got)
			}
			if !strings.Contains(w.logs.String(), `content coding \"br\"`) {
				t.Errorf("the refusal's reason is not logged:\n%s", w.logs)
			}
		})
	}
}

// TestProxyGzipBombCut: a small gzip body that decodes to far more than
// MaxDecodedBytes (a decompression bomb) is cut off at the limit, visibly
// (the client sees an incomplete answer, not a complete short one), and
// the cut is logged and counted.
func TestProxyGzipBombCut(t *testing.T) {
	bomb := gzipped(t, make([]byte, 64<<20))
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, counts := bodyWorld(t, tr)
			w.up.Answer(func(rw http.ResponseWriter, _ *http.Request) {
				rw.Header().Set("Content-Encoding", "gzip")
				_, _ = rw.Write(bomb)
			})
			resp, body, err := getCut(t, base+Prefix+"hdr/bomb", tok)
			if resp.StatusCode != 200 {
				t.Fatalf("%d", resp.StatusCode)
			}
			if err == nil {
				t.Errorf("the cut answer read as complete (%d bytes)", len(body))
			}
			if len(body) > 1<<20 {
				t.Errorf("%d bytes passed, over MaxDecodedBytes", len(body))
			}
			counts.await(t, AnswerDecodedTooLarge, 1)
			if !strings.Contains(w.logs.String(), "answer cut off") {
				t.Errorf("the cut is not logged:\n%s", w.logs)
			}
		})
	}
}

// TestProxyBodyEchoSplitAcrossRangesMasked: two range requests that cut an
// echoed secret in two would each pass a part the masker cannot
// recognise; the proxy asks the upstream for whole answers only (no Range
// or If-Range is forwarded), so each answer is whole and masked.
func TestProxyBodyEchoSplitAcrossRangesMasked(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, base, tok, _ := bodyWorld(t, tr)
			var ranges []string
			var mu sync.Mutex
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ranges = append(ranges, r.Header.Values("Range")...)
				mu.Unlock()
				body := `{"error":"invalid request ` + r.URL.String() + `"}`
				http.ServeContent(rw, r, "echo.json", time.Unix(1_700_000_000, 0), strings.NewReader(body))
			})
			cut := len(`{"error":"invalid request /rec/x?v=1&key=`) + 5 // inside the secret
			for _, rng := range []string{fmt.Sprintf("bytes=0-%d", cut-1), fmt.Sprintf("bytes=%d-", cut)} {
				a := send(t, "GET", base+Prefix+"qry/x", map[string]string{"Attest-Token": tok["Attest-Token"], "Range": rng, "If-Range": "Tue, 14 Nov 2023 22:13:20 GMT"}, nil)
				if a.status != 200 || !bytes.HasPrefix(a.body, []byte(`{"error":"invalid request /rec/x?v=1&key=*****`)) {
					t.Errorf("%s: %d %q, want the whole answer, masked", rng, a.status, a.body)
				}
				assertBodyHasNoSecret(t, rng, a, testSecret)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(ranges) != 0 {
				t.Errorf("the upstream was asked for ranges %q", ranges)
			}
		})
	}
}
