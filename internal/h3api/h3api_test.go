package h3api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/attest"
)

// undeclared hides the body's length, as a chunked or streamed body does.
type undeclared struct{ io.Reader }

func TestReadBodyLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		body     io.Reader
		declared int64
		n        int
		tooLarge bool
	}{
		"empty":               {nil, 0, 0, false},
		"at-limit":            {bytes.NewReader(make([]byte, attest.MaxBodyBytes)), attest.MaxBodyBytes, attest.MaxBodyBytes, false},
		"declared-over":       {strings.NewReader("not read"), attest.MaxBodyBytes + 1, 0, true},
		"undeclared-at-limit": {undeclared{bytes.NewReader(make([]byte, attest.MaxBodyBytes))}, -1, attest.MaxBodyBytes, false},
		"undeclared-over":     {undeclared{bytes.NewReader(make([]byte, 3*attest.MaxBodyBytes))}, -1, 0, true},
		"undeclared-one-over": {undeclared{bytes.NewReader(make([]byte, attest.MaxBodyBytes+1))}, -1, 0, true},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/attest", tc.body)
			r.ContentLength = tc.declared
			if tc.body == nil {
				r.Body = http.NoBody
			}
			body, tooLarge, err := readBody(r, nil)
			if err != nil || len(body) != tc.n || tooLarge != tc.tooLarge {
				t.Errorf("len %d tooLarge %v err %v; want %d %v", len(body), tooLarge, err, tc.n, tc.tooLarge)
			}
		})
	}
}

// The routing answers that need no core: same codes and bodies as over
// HTTP/1.1, early data refused on POST.
func TestServeHTTP(t *testing.T) {
	h := New(Config{Handler: api.New(api.Config{}), EarlyData: func(r *http.Request) bool { return r.Header.Get("Early") != "" }})
	do := func(method, path string, body io.Reader, hdr map[string]string) (*http.Response, map[string]string) {
		r := httptest.NewRequest(method, path, body)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var e map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		return w.Result(), e
	}
	resp, e := do("GET", "/nope", nil, nil)
	if resp.StatusCode != 404 || e["error"] != "not_found" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("404: %d %v", resp.StatusCode, e)
	}
	resp, e = do("GET", "/v1/challenge", nil, nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || e["error"] != "method_not_allowed" {
		t.Errorf("405: %d %v %q", resp.StatusCode, e, resp.Header.Get("Allow"))
	}
	resp, e = do("POST", "/v1/challenge", bytes.NewReader(make([]byte, attest.MaxBodyBytes+10)), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 413 || e["error"] != "body_too_large" {
		t.Errorf("413: %d %v", resp.StatusCode, e)
	}
	resp, _ = do("POST", "/v1/challenge", nil, map[string]string{"Early": "1"})
	if resp.StatusCode != http.StatusTooEarly {
		t.Errorf("early data: %d", resp.StatusCode)
	}
}
