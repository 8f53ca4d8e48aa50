package androidstatus_test

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/androidstatus"
	"github.com/attestd/attestd/verify/androidkey"
)

// TestRevocationAppearsInRefresh: a list fetched from a real loopback
// server is installed at start; a revocation the server adds is installed
// by the next refresh, an hour later, with its fetch time.
func TestRevocationAppearsInRefresh(t *testing.T) {
	srv := newStatusServer(t, false)
	srv.serveList(listOf(t, map[string]string{"aa": "REVOKED"}), "")
	r := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/attestation/status")})
	if err := r.start(t); err != nil {
		t.Fatal(err)
	}
	if !r.revoked(t, "aa") || r.revoked(t, "bb") {
		t.Fatal("first list not installed")
	}
	srv.serveList(listOf(t, map[string]string{"aa": "REVOKED", "0bb": "SUSPENDED"}), "")
	d, err := r.tick(t)
	if err != nil {
		t.Fatal(err)
	}
	if d != androidstatus.DefaultRefresh {
		t.Errorf("refresh after %s, want %s", d, androidstatus.DefaultRefresh)
	}
	_, at, n := r.installed()
	if !r.revoked(t, "bb") || n != 2 || !at.Equal(t0.Add(d)) {
		t.Errorf("after the refresh: bb revoked %v, %d installs, fetched %s", r.revoked(t, "bb"), n, at)
	}
}

// TestHostileStatusAnswersKeepTheList: whatever a hostile or broken server
// answers (garbage, a list cut short, a 500, a redirect elsewhere, a body
// over 16 MiB announced, streamed or gzipped, a body that never ends, no
// answer at all, a 100 KiB header, a list that drops every revocation), the
// list in force stays, and the failure is counted under its reason.
func TestHostileStatusAnswersKeepTheList(t *testing.T) {
	good := listOf(t, map[string]string{"aa": "REVOKED", "ab": "REVOKED"})
	other := newStatusServer(t, false)
	other.serveList(listOf(t, nil), "")
	huge := bytes.Repeat([]byte(" "), androidkey.MaxStatusListSize+1)
	// 64 MiB of JSON whitespace inside a list, gzipped to some 64 KiB: the
	// transport inflates it, the limit counts what it inflates.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"entries":{`))
	for i := 0; i < 64; i++ {
		zw.Write(huge[:1<<20])
	}
	zw.Write([]byte(`}}`))
	zw.Close()
	bomb := zb.Bytes()
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		reason string
	}{
		{"garbage", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>captive portal</html>")) }, androidstatus.ReasonMalformed},
		{"truncated-json", func(w http.ResponseWriter, _ *http.Request) { w.Write(good[:len(good)-3]) }, androidstatus.ReasonMalformed},
		{"body-shorter-than-content-length", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(good)+100))
			w.Write(good)
		}, androidstatus.ReasonTruncated},
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }, androidstatus.ReasonStatus},
		{"304-without-asking", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotModified) }, androidstatus.ReasonStatus},
		{"no-entries", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{}`)) }, androidstatus.ReasonMalformed},
		{"drops-every-revocation", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"entries":{}}`)) }, androidstatus.ReasonUnrevokes},
		{"content-length-over-limit", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(androidkey.MaxStatusListSize+1))
			w.Write([]byte(`{"entries":{}}`))
		}, androidstatus.ReasonTooLarge},
		{"streamed-body-over-limit", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"entries":{}`))
			w.Write(huge)
			w.Write([]byte(`}`))
		}, androidstatus.ReasonTooLarge},
		{"redirect-to-another-host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/status", http.StatusFound)
		}, androidstatus.ReasonTransport},
		{"redirect-to-another-scheme", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}, androidstatus.ReasonTransport},
		{"redirect-loop-same-host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/again", http.StatusFound)
		}, androidstatus.ReasonTransport},
		{"slow-body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"entries":{`))
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
					w.Write([]byte(" "))
				}
			}
		}, androidstatus.ReasonTransport},
		{"hangs", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, androidstatus.ReasonTransport},
		{"huge-header", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("a", 100<<10))
			w.Write(good)
		}, androidstatus.ReasonTransport},
		{"gzip-bomb", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}, androidstatus.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newStatusServer(t, false)
			srv.serveList(good, "")
			cache := cachePath(t)
			// A short timeout for the answers that never end; the race
			// detector makes inflating 16 MiB slower than that.
			timeout := 10 * time.Second
			if tc.name == "slow-body" || tc.name == "hangs" {
				timeout = 500 * time.Millisecond
			}
			r := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/status"), Cache: cache, Timeout: timeout})
			if err := r.start(t); err != nil {
				t.Fatal(err)
			}
			first, _, _ := r.installed()
			srv.serve(tc.h)
			_, err := r.tick(t)
			if got := androidstatus.ReasonOf(err); got != tc.reason {
				t.Fatalf("attempt: %v (reason %q), want reason %q", err, got, tc.reason)
			}
			if l, _, n := r.installed(); l != first || n != 1 || !r.revoked(t, "aa") {
				t.Errorf("the list in force was replaced (%d installs)", n)
			}
			if got := r.k.Stats().Failures[tc.reason]; got != 1 {
				t.Errorf("failures[%s] = %d", tc.reason, got)
			}
			cached, err := os.ReadFile(cache)
			if err != nil || !bytes.Equal(cached, good) {
				t.Errorf("the cache no longer holds the good list (%v)", err)
			}
		})
	}
}

// TestRestartWithServerDownServesCache: a node that fetched a list once and
// restarts while the server is down starts with that list, as old as its
// fetch, and fetches at once.
func TestRestartWithServerDownServesCache(t *testing.T) {
	srv := newStatusServer(t, false)
	body := listOf(t, map[string]string{"c0ffee": "REVOKED"})
	srv.serveList(body, "")
	cache := cachePath(t)
	first := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/status"), Cache: cache})
	if err := first.start(t); err != nil {
		t.Fatal(err)
	}
	first.stop()
	srv.Close()

	clk := newFakeClock(t0.Add(5 * time.Hour))
	again := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/status"), Cache: cache, Clock: clk})
	if err := again.start(t); err != nil {
		t.Fatal(err)
	}
	_, at, n := again.installed()
	if n != 1 || !again.revoked(t, "c0ffee") || !at.Equal(t0) {
		t.Fatalf("after the restart: %d installs, fetched %s, want the cached list of %s", n, at, t0)
	}
	d, err := again.tick(t)
	if d != 0 || err == nil {
		t.Errorf("first fetch after %s (%v), want at once and failing", d, err)
	}
	if l, _, n := again.installed(); n != 1 || l == nil {
		t.Error("a failed fetch replaced the cached list")
	}
}

// TestCacheControlShortensRefresh: an answer's max-age brings the next
// fetch forward, never sooner than MinRefresh (so a hostile max-age=0 or
// no-store makes a node fetch once a minute, not in a loop); a max-age
// longer than the refresh does not delay it.
func TestCacheControlShortensRefresh(t *testing.T) {
	body := listOf(t, map[string]string{"1": "REVOKED"})
	for _, tc := range []struct {
		cc   string
		want time.Duration
	}{
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=0", androidstatus.DefaultMinRefresh},
		{"max-age=1", androidstatus.DefaultMinRefresh},
		{"no-store", androidstatus.DefaultMinRefresh},
		{"max-age=86400", androidstatus.DefaultRefresh},
		{"max-age=-5", androidstatus.DefaultRefresh},
		{"max-age=99999999999999999999", androidstatus.DefaultRefresh},
		{"max-age=600, max-age=120", 2 * time.Minute},
		{"", androidstatus.DefaultRefresh},
	} {
		t.Run(tc.cc, func(t *testing.T) {
			srv := newStatusServer(t, false)
			srv.serveList(body, tc.cc)
			r := newRig(t, androidstatus.Config{Source: source(t, srv.URL)})
			if err := r.start(t); err != nil {
				t.Fatal(err)
			}
			if d, err := r.tick(t); err != nil || d != tc.want {
				t.Fatalf("first refresh after %s (%v), want %s", d, err, tc.want)
			}
			if d := r.clk.nextWait(t); d != tc.want {
				t.Errorf("second refresh after %s, want %s", d, tc.want)
			}
		})
	}
}

// TestFailuresBackOff: failures in a row are retried after 10 s, 20 s,
// 40 s ... up to the refresh, and a success goes back to the refresh.
func TestFailuresBackOff(t *testing.T) {
	srv := newStatusServer(t, false)
	r := newRig(t, androidstatus.Config{Source: source(t, srv.URL), Refresh: 2 * time.Minute})
	if err := r.start(t); err != nil {
		t.Fatal(err)
	}
	// Jitter 0 takes the lower half: 5 s, 10 s, 20 s, 40 s, then 60 s.
	for i, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		d, err := r.tick(t)
		if d != want || err == nil {
			t.Fatalf("retry %d after %s (%v), want %s and a failure", i, d, err, want)
		}
	}
	srv.serveList(listOf(t, nil), "")
	if _, err := r.tick(t); err != nil {
		t.Fatal(err)
	}
	if d := r.clk.nextWait(t); d != 2*time.Minute {
		t.Errorf("after a success the next fetch is in %s", d)
	}
}

// TestHTTPSWithTestCA: a list over HTTPS from a server of a test CA, and a
// redirect from it to plain HTTP on the same host is refused.
func TestHTTPSWithTestCA(t *testing.T) {
	srv := newStatusServer(t, true)
	srv.serveList(listOf(t, map[string]string{"ff": "REVOKED"}), "")
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	r := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/status"), RootCAs: pool})
	if err := r.start(t); err != nil || !r.revoked(t, "ff") {
		t.Fatalf("https list not installed (%v)", err)
	}
	srv.serve(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, "http://"+req.Host+"/status", http.StatusFound)
	})
	if _, err := r.tick(t); !strings.Contains(errText(err), "redirect refused") {
		t.Errorf("redirect to http: %v", err)
	}
	// Without the test CA the server is not trusted.
	untrusted := newRig(t, androidstatus.Config{Source: source(t, srv.URL+"/status")})
	untrusted.start(t)
	if l, _, _ := untrusted.installed(); l != nil {
		t.Error("a list from an untrusted server was installed")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestUnrevocationLoggedAndCounted: a list that un-revokes a minority of
// the revoked certificates is accepted, and the un-revoked serials
// counted; one that un-revokes most is refused.
func TestUnrevocationLoggedAndCounted(t *testing.T) {
	srv := newStatusServer(t, false)
	srv.serveList(listOf(t, map[string]string{"1": "REVOKED", "2": "REVOKED", "3": "REVOKED", "4": "SUSPENDED"}), "")
	r := newRig(t, androidstatus.Config{Source: source(t, srv.URL)})
	if err := r.start(t); err != nil {
		t.Fatal(err)
	}
	srv.serveList(listOf(t, map[string]string{"1": "REVOKED", "2": "REVOKED"}), "")
	if _, err := r.tick(t); err != nil {
		t.Fatal(err)
	}
	if r.revoked(t, "3") || r.revoked(t, "4") || r.k.Stats().Unrevoked != 1 {
		t.Errorf("un-revoking one of three: revoked(3) %v, stats %+v", r.revoked(t, "3"), r.k.Stats())
	}
	srv.serveList(listOf(t, map[string]string{"9": "REVOKED"}), "")
	if _, err := r.tick(t); androidstatus.ReasonOf(err) != androidstatus.ReasonUnrevokes {
		t.Fatalf("un-revoking both: %v", err)
	}
	if !r.revoked(t, "1") || r.revoked(t, "9") {
		t.Error("a list un-revoking every certificate was installed")
	}
}

// TestStatusFileFollowed: a file source is read at start (an error when it
// does not read or parse), re-read when it changes, its age its
// modification time; a broken file keeps the list in force.
func TestStatusFileFollowed(t *testing.T) {
	path := cachePath(t)
	if err := os.WriteFile(path, listOf(t, map[string]string{"a1": "REVOKED"}), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := t0.Add(-3 * time.Hour)
	os.Chtimes(path, mtime, mtime)
	r := newRig(t, androidstatus.Config{Source: source(t, path)})
	if err := r.start(t); err != nil {
		t.Fatal(err)
	}
	if _, at, _ := r.installed(); !r.revoked(t, "a1") || !at.Equal(mtime) {
		t.Fatalf("file list: fetched %s, want its mtime %s", at, mtime)
	}
	os.WriteFile(path, listOf(t, map[string]string{"a1": "REVOKED", "b2": "REVOKED"}), 0o600)
	os.Chtimes(path, t0, t0)
	if d, err := r.tick(t); err != nil || d != androidstatus.DefaultPoll || !r.revoked(t, "b2") {
		t.Fatalf("changed file after %s: %v", d, err)
	}
	os.WriteFile(path, []byte(`{"entries":`), 0o600)
	if _, err := r.tick(t); androidstatus.ReasonOf(err) != androidstatus.ReasonMalformed || !r.revoked(t, "b2") {
		t.Fatalf("broken file: %v", err)
	}
	os.WriteFile(path, []byte(`{"entries":`), 0o600)
	broken := newRig(t, androidstatus.Config{Source: source(t, path)})
	if err := broken.k.Start(t.Context()); err == nil {
		t.Error("a broken file at start is no error")
	}
	missing := newRig(t, androidstatus.Config{Source: source(t, path+".missing")})
	if err := missing.k.Start(t.Context()); err == nil {
		t.Error("a missing file at start is no error")
	}
}

// TestPlainHTTPOnlyToLoopback: --android-status refuses http:// to any
// address but a loopback IP literal, other schemes, user information and
// fragments; anything without a scheme is a file.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for _, ok := range []string{
		"https://android.googleapis.com/attestation/status",
		"http://127.0.0.1:8080/status", "http://127.9.9.9/status", "http://[::1]:80/", "http://[::ffff:127.0.0.1]/",
		"/var/lib/attestd/status.json", "status.json", "./a://b",
	} {
		if _, err := androidstatus.ParseSource(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"http://android.googleapis.com/attestation/status", "http://localhost/status", "http://10.0.0.1/status",
		"http://0.0.0.0/", "http://[::]/", "ftp://127.0.0.1/status", "file:///etc/passwd", "https://user:pw@example.com/",
		"https://example.com/#frag", "https:///status", "gopher://127.0.0.1/", "",
	} {
		if _, err := androidstatus.ParseSource(bad); !errors.Is(err, androidstatus.ErrSource) {
			t.Errorf("%s: %v, want ErrSource", bad, err)
		}
	}
	if s := source(t, "status.json"); s.IsURL() || s.File != "status.json" {
		t.Errorf("file source %+v", s)
	}
}

// TestPlainHTTPRedirectToOtherLoopbackPortRefused: a loopback server that
// redirects to another port (another host:port) is refused too.
func TestPlainHTTPRedirectToOtherLoopbackPortRefused(t *testing.T) {
	srv := newStatusServer(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	srv.serve(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+ln.Addr().String()+"/status", http.StatusMovedPermanently)
	})
	r := newRig(t, androidstatus.Config{Source: source(t, srv.URL)})
	r.start(t)
	if l, _, _ := r.installed(); l != nil || r.k.Stats().Failures[androidstatus.ReasonTransport] != 1 {
		t.Errorf("redirect to another port: installed %v, stats %+v", l != nil, r.k.Stats())
	}
}
