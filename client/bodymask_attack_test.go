package client_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
)

// A second secret, of the characters that give it several forms (query-
// and path-escaped, JSON-escaped).
const (
	secret2Name  = "push_key"
	secret2Value = `pk/2+b&c="d" e<f>`
)

// upstream is a loopback server the tests' secrets are allowed for, and a
// Transport (through a real daemon) that fills them in for it.
type upstream struct {
	url string
	hc  *http.Client
	mu  sync.Mutex
	got []http.Header // the headers of every request, the query as X-Query
}

// newUpstream starts h behind a recorder of what it receives, a daemon
// that releases maps_api_key and push_key to the app, and a Transport
// whose SecretHosts allow both for the server's origin. cfg's Client,
// Base and SecretHosts are set here.
func newUpstream(t *testing.T, h http.HandlerFunc, cfg client.TransportConfig) *upstream {
	t.Helper()
	f := testenv.NewFixture(t)
	acct := &f.Bundle.Accounts[0]
	acct.Secrets = append(acct.Secrets, model.Secret{Name: secret2Name, Value: secret.FromString(secret2Value), Apps: []string{testenv.App}})
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	u := &upstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := r.Header.Clone()
		seen.Set("X-Query", r.URL.RawQuery)
		u.mu.Lock()
		u.got = append(u.got, seen)
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL
	cfg.Client = node.Client(t, f, testenv.App, nil)
	cfg.SecretHosts = map[string][]string{testenv.SecretName: {srv.URL}, secret2Name: {srv.URL}}
	tr, err := client.NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	u.hc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return u
}

// last is the headers of the last request the server got; the test
// proves nothing unless the secret did reach it.
func (u *upstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.got[len(u.got)-1]
}

func (u *upstream) do(t *testing.T, path string, hdr map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest("GET", u.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// leaks lists the forms of value that body still holds.
func leaks(body []byte, value string) []string {
	var out []string
	for _, f := range []string{value, url.QueryEscape(value), url.PathEscape(value), jsonInside(value), html.EscapeString(value)} {
		if bytes.Contains(body, []byte(f)) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func jsonInside(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}

// debugEcho answers 400 with a page that repeats the request (raw query,
// decoded query, every header) as HTML and as JSON, as error pages and
// debug endpoints do.
func debugEcho(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<h1>Bad request</h1><p>GET %s?%s</p>\n", r.URL.Path, r.URL.RawQuery)
	_ = r.Header.Write(&b)
	_ = json.NewEncoder(&b).Encode(map[string]any{"query": r.URL.Query(), "headers": r.Header})
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", fmt.Sprint(b.Len()))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b.Bytes())
}

// TestTransportBodyEchoOfQuerySecretMasked: an upstream's error page
// repeats the URL (?key=SECRET), raw and decoded as JSON; the app reads
// the page with every echo masked, the length kept.
func TestTransportBodyEchoOfQuerySecretMasked(t *testing.T) {
	u := newUpstream(t, debugEcho, client.TransportConfig{})
	for _, s := range []struct{ name, value string }{{testenv.SecretName, testenv.SecretValue}, {secret2Name, secret2Value}} {
		resp, body, err := u.do(t, "/err?q=1&key="+url.QueryEscape(client.Placeholder(s.name)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.last(t).Get("X-Query"); got != "q=1&key="+url.QueryEscape(s.value) {
			t.Fatalf("%s: the upstream got the query %q, not the secret (the test proves nothing)", s.name, got)
		}
		if l := leaks(body, s.value); len(l) > 0 {
			t.Errorf("%s: the answer body holds the secret as %q:\n%s", s.name, l, body)
		}
		if resp.ContentLength != int64(len(body)) || !bytes.Contains(body, []byte("GET /err?q=1&key=")) {
			t.Errorf("%s: Content-Length %d, body of %d bytes, want the page as long as sent:\n%s", s.name, resp.ContentLength, len(body), body)
		}
	}
}

// TestTransportBodyEchoOfHeaderSecretMasked: a debug endpoint dumps the
// request's headers (X-Api-Key: SECRET), as text and as Go's JSON.
func TestTransportBodyEchoOfHeaderSecretMasked(t *testing.T) {
	u := newUpstream(t, debugEcho, client.TransportConfig{})
	for _, s := range []struct{ name, value string }{{testenv.SecretName, testenv.SecretValue}, {secret2Name, secret2Value}} {
		_, body, err := u.do(t, "/debug", map[string]string{"X-Api-Key": "Key " + client.Placeholder(s.name)})
		if err != nil {
			t.Fatal(err)
		}
		if got := u.last(t).Get("X-Api-Key"); got != "Key "+s.value {
			t.Fatalf("%s: the upstream got X-Api-Key %q (the test proves nothing)", s.name, got)
		}
		if l := leaks(body, s.value); len(l) > 0 {
			t.Errorf("%s: the answer body holds the secret as %q:\n%s", s.name, l, body)
		}
		if !bytes.Contains(body, []byte("X-Api-Key: Key ")) {
			t.Errorf("%s: the echo is gone, not masked:\n%s", s.name, body)
		}
	}
}

// TestTransportBodyEchoSplitAcrossWritesMasked: the upstream writes the
// echo a byte at a time, flushing each (a chunk each), and the app reads
// in small pieces: no read sees a piece of the secret.
func TestTransportBodyEchoSplitAcrossWritesMasked(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		echo := "error: bad key " + r.URL.Query().Get("key") + " in " + r.URL.RawQuery + "\n"
		for i := range len(echo) {
			_, _ = io.WriteString(w, echo[i:i+1])
			w.(http.Flusher).Flush()
		}
	}, client.TransportConfig{})
	req, _ := http.NewRequest("GET", u.url+"/x?key="+url.QueryEscape(client.Placeholder(secret2Name)), nil)
	resp, err := u.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	p := make([]byte, 3)
	for {
		n, err := resp.Body.Read(p)
		body = append(body, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if u.last(t).Get("X-Query") != "key="+url.QueryEscape(secret2Value) {
		t.Fatal("the upstream did not get the secret (the test proves nothing)")
	}
	if l := leaks(body, secret2Value); len(l) > 0 || !bytes.HasPrefix(body, []byte("error: bad key ")) {
		t.Errorf("the answer body holds the secret as %q (or lost its text):\n%s", l, body)
	}
}

// gzipped is b gzip-compressed (into memory: nothing fails).
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// TestTransportGzipBodyEchoMasked: the echo comes gzip-compressed, because
// the app asked for gzip itself (Go's transport then leaves the body
// encoded) or because the upstream ignores Accept-Encoding: identity. The
// app reads it decoded and masked, without Content-Encoding; a request
// with a secret asks for identity unless the app asked otherwise, and for
// no range.
func TestTransportGzipBodyEchoMasked(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"error":"invalid key","url":%q}`, r.URL.String())
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Etag", `"v1"`)
		_, _ = w.Write(gzipped(b.Bytes()))
	}, client.TransportConfig{})
	ph := "/x?key=" + url.QueryEscape(client.Placeholder(testenv.SecretName))
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		wantAE string
	}{
		{"app asks for gzip", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=10-"}, "gzip"},
		{"upstream ignores identity", map[string]string{"Range": "bytes=0-9", "If-Range": `"v1"`}, "identity"},
	} {
		resp, body, err := u.do(t, ph, tc.hdr)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := u.last(t)
		if got.Get("X-Query") != "key="+testenv.SecretValue {
			t.Fatalf("%s: the upstream did not get the secret (the test proves nothing)", tc.name)
		}
		if got.Get("Accept-Encoding") != tc.wantAE || got.Get("Range") != "" || got.Get("If-Range") != "" {
			t.Errorf("%s: the upstream got Accept-Encoding %q, Range %q, If-Range %q; want %q and no range", tc.name,
				got.Get("Accept-Encoding"), got.Get("Range"), got.Get("If-Range"), tc.wantAE)
		}
		if l := leaks(body, testenv.SecretValue); len(l) > 0 || !bytes.HasPrefix(body, []byte(`{"error":"invalid key"`)) {
			t.Errorf("%s: the body is not the decoded echo, masked (%q):\n%q", tc.name, l, body)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" || !resp.Uncompressed || resp.Header.Get("Etag") != `W/"v1"` {
			t.Errorf("%s: Content-Encoding %q, Uncompressed %v, Etag %q; want none, true, weak", tc.name, ce, resp.Uncompressed, resp.Header.Get("Etag"))
		}
	}
}

// TestTransportUnsearchableAnswerEncodingRefused: an answer in a coding
// the SDK cannot decode (br, zstd, gzip twice) could hold the secret
// unsearched: the round trip fails, nothing of the body reaches the app.
func TestTransportUnsearchableAnswerEncodingRefused(t *testing.T) {
	var coding string
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", coding)
		_, _ = io.WriteString(w, "echo: "+r.URL.RawQuery) // not encoded: only the label lies
	}, client.TransportConfig{})
	for _, coding = range []string{"br", "zstd", "gzip, gzip", "x-unknown"} {
		resp, body, err := u.do(t, "/x?key="+url.QueryEscape(client.Placeholder(testenv.SecretName)), map[string]string{"Accept-Encoding": "br, zstd, gzip"})
		if !errors.Is(err, client.ErrAnswerUnsearchable) {
			t.Errorf("Content-Encoding %q: %v (body %q), want ErrAnswerUnsearchable", coding, err, body)
		}
		if resp != nil {
			t.Errorf("Content-Encoding %q: an answer came back", coding)
		}
	}
	if u.last(t).Get("X-Query") != "key="+testenv.SecretValue {
		t.Fatal("the upstream did not get the secret (the test proves nothing)")
	}
}

// TestTransportGzipBombCut: a gzip answer that decodes to far more than
// MaxDecodedAnswer (32 MiB of zeros in 32 KiB, then the secret) is read up
// to the limit, and then fails with ErrAnswerTooLarge.
func TestTransportGzipBombCut(t *testing.T) {
	const limit = 1 << 20
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte("head " + testenv.SecretValue + " "))
	zeros := make([]byte, 1<<20)
	for range 32 {
		_, _ = zw.Write(zeros)
	}
	_, _ = zw.Write([]byte(testenv.SecretValue))
	_ = zw.Close()
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb.Bytes())
	}, client.TransportConfig{MaxDecodedAnswer: limit})
	resp, body, err := u.do(t, "/x?key="+url.QueryEscape(client.Placeholder(testenv.SecretName)), nil)
	if !errors.Is(err, client.ErrAnswerTooLarge) {
		t.Fatalf("reading the bomb: %v, want ErrAnswerTooLarge", err)
	}
	if resp.ContentLength != -1 || len(body) > limit {
		t.Errorf("Content-Length %d, %d bytes read; want -1 and at most %d", resp.ContentLength, len(body), limit)
	}
	if l := leaks(body, testenv.SecretValue); len(l) > 0 || !bytes.HasPrefix(body, []byte("head ")) {
		t.Errorf("the bomb's head is not masked: %q", body[:min(len(body), 64)])
	}
}

// TestTransportTwoSecretsInOneRequestBothMasked: one secret in a header,
// another in the query, echoed side by side (overlapping, even): every
// echo of each is masked.
func TestTransportTwoSecretsInOneRequestBothMasked(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		k1, k2 := r.Header.Get("X-Api-Key"), r.URL.Query().Get("push")
		fmt.Fprintf(w, "%s|%s|%s%s|%q|%s", k1, k2, k1, k2, k2+k1, r.URL.RawQuery)
	}, client.TransportConfig{})
	_, body, err := u.do(t, "/x?push="+url.QueryEscape(client.Placeholder(secret2Name))+"&again="+url.QueryEscape(client.Placeholder(testenv.SecretName)),
		map[string]string{"X-Api-Key": client.Placeholder(testenv.SecretName)})
	if err != nil {
		t.Fatal(err)
	}
	got := u.last(t)
	if got.Get("X-Api-Key") != testenv.SecretValue || !strings.Contains(got.Get("X-Query"), url.QueryEscape(secret2Value)) {
		t.Fatal("the upstream did not get both secrets (the test proves nothing)")
	}
	for _, v := range []string{testenv.SecretValue, secret2Value} {
		if l := leaks(body, v); len(l) > 0 {
			t.Errorf("the body holds a secret as %q:\n%s", l, body)
		}
	}
	if bytes.Count(body, []byte("|")) < 4 {
		t.Errorf("the echo lost its shape: %q", body)
	}
}

// TestTransportUpgradedConnIsNotHeldBack: a 101's connection (a
// WebSocket, say) to a host a secret was filled in for keeps its headers
// scrubbed, but is not masked: masking holds back bytes that could begin a
// secret until more arrive, and a protocol that waits for an answer to a
// message ending in such a byte would stall. The app gets the upstream's
// message whole, at once, and the exchange goes on.
func TestTransportUpgradedConnIsNotHeldBack(t *testing.T) {
	msg := "you said ping, now say " + testenv.SecretValue[:1] // ends with a byte that could begin the secret
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Echo: "+r.URL.RawQuery+"\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = io.WriteString(brw, msg)
		_ = brw.Flush()
		reply, _ := brw.ReadString('\n') // waits for the app's answer to msg
		_, _ = io.WriteString(brw, "bye "+reply+line)
		_ = brw.Flush()
	}, client.TransportConfig{})
	req, _ := http.NewRequest("GET", u.url+"/ws?key="+url.QueryEscape(client.Placeholder(testenv.SecretName)), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	// An http.Client with a Timeout hands back a body that is not a
	// Writer: bound the exchange with the context instead.
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	resp, err := (&http.Client{Transport: u.hc.Transport}).Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		t.Fatalf("status %d, body writable %v; want 101 and a connection", resp.StatusCode, ok)
	}
	if u.last(t).Get("X-Query") != "key="+testenv.SecretValue {
		t.Fatal("the upstream did not get the secret (the test proves nothing)")
	}
	if v := resp.Header.Get("X-Echo"); v != "" {
		t.Errorf("the 101's header kept %q", v)
	}
	// A stall ends the test, not the run: the connection is closed after
	// 10 s, which ends a read that waits.
	stop := time.AfterFunc(10*time.Second, func() { _ = rw.Close() })
	defer stop.Stop()
	if _, err := io.WriteString(rw, "ping\n"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(rw, got); err != nil || string(got) != msg {
		t.Fatalf("the upstream's message: %q, %v (held back?)", got, err)
	}
	if _, err := io.WriteString(rw, "pong\n"); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(rw); err != nil || string(rest) != "bye pong\nping\n" {
		t.Errorf("the end of the exchange: %q, %v", rest, err)
	}
}

// TestTransportTrailerSecretScrubbed: an upstream that echoes the secret
// in a trailer (which net/http fills in once the body has been read to its
// end) does not hand it to the app.
func TestTransportTrailerSecretScrubbed(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Debug")
		_, _ = io.WriteString(w, "ok")
		w.Header().Set("X-Debug", r.URL.RawQuery)
	}, client.TransportConfig{})
	resp, err := u.hc.Get(u.url + "/t?key=" + url.QueryEscape(client.Placeholder(testenv.SecretName)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "ok" {
		t.Fatalf("body %q, %v", body, err)
	}
	if u.last(t).Get("X-Query") != "key="+testenv.SecretValue {
		t.Fatal("the upstream did not get the secret (the test proves nothing)")
	}
	if v := resp.Trailer.Get("X-Debug"); strings.Contains(v, testenv.SecretValue) {
		t.Errorf("the trailer kept the secret: %q", v)
	}
}

// TestTransportEmptyEncodedAnswerReads: an empty body whose header says
// gzip or deflate (as servers send for an empty answer to an app that
// asked for compression) reads as empty, as net/http's own decoding reads
// it, rather than failing.
func TestTransportEmptyEncodedAnswerReads(t *testing.T) {
	for _, coding := range []string{"gzip", "deflate"} {
		t.Run(coding, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", coding)
				w.(http.Flusher).Flush() // chunked, no body
			}, client.TransportConfig{})
			req, _ := http.NewRequest("GET", u.url+"/e?key="+url.QueryEscape(client.Placeholder(testenv.SecretName)), nil)
			req.Header.Set("Accept-Encoding", coding)
			resp, err := u.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 {
				t.Errorf("an empty %s answer: %q, %v", coding, b, err)
			}
		})
	}
}

// TestTransportAnswerWithoutSecretUntouched: the answer to a request no
// secret was filled in is the base transport's, byte for byte (an app's
// gzip stays gzip, text that looks like a secret stays) and streams: the
// app reads the first part before the upstream writes the second.
func TestTransportAnswerWithoutSecretUntouched(t *testing.T) {
	first := []byte("part one mentions " + testenv.SecretValue + "\n")
	second := gzipped([]byte("part two " + testenv.SecretValue))
	wrote := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "x-app-own")
		_, _ = w.Write(first)
		w.(http.Flusher).Flush()
		select {
		case <-wrote: // the client has read the first part
		case <-time.After(10 * time.Second):
			return
		}
		_, _ = w.Write(second)
	}, client.TransportConfig{})
	req, _ := http.NewRequest("GET", u.url+"/plain?q=1", nil)
	req.Header.Set("Accept-Encoding", "x-app-own")
	req.Header.Set("Range", "bytes=0-")
	resp, err := u.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, len(first))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("the first part did not come before the second was written: %v", err)
	}
	close(wrote)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(bytes.Clone(first), second...); !bytes.Equal(append(got, rest...), want) || resp.Header.Get("Content-Encoding") != "x-app-own" {
		t.Errorf("the answer changed: %q, Content-Encoding %q", append(got, rest...), resp.Header.Get("Content-Encoding"))
	}
	if h := u.last(t); h.Get("Accept-Encoding") != "x-app-own" || h.Get("Range") != "bytes=0-" {
		t.Errorf("the request changed: Accept-Encoding %q, Range %q", h.Get("Accept-Encoding"), h.Get("Range"))
	}
}
