package client

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// trailing is an empty body that fills its answer's trailer in when it is
// read to its end, as net/http does for an HTTP/2 answer that sends
// content-length: 0 and then trailers.
type trailing struct {
	resp  *http.Response
	value string
}

func (b *trailing) Read([]byte) (int, error) {
	b.resp.Trailer.Set("X-Debug", b.value)
	return 0, io.EOF
}

func (b *trailing) Close() error { return nil }

// TestEmptyAnswerTrailerScrubbed: an answer with no body to search (empty,
// 204, 304, HEAD) whose trailers echo a secret filled in has them scrubbed
// when its body ends, as any answer's.
func TestEmptyAnswerTrailerScrubbed(t *testing.T) {
	const value = "sk_live_0123456789abcdef"
	for name, edit := range map[string]func(*http.Response){
		"content-length-0": func(r *http.Response) { r.ContentLength = 0 },
		"204":              func(r *http.Response) { r.StatusCode = http.StatusNoContent },
		"304":              func(r *http.Response) { r.StatusCode = http.StatusNotModified },
		"head":             func(r *http.Response) { r.Request.Method = http.MethodHead },
	} {
		t.Run(name, func(t *testing.T) {
			resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Trailer: http.Header{"X-Debug": nil},
				ContentLength: -1, Request: &http.Request{Method: http.MethodGet}}
			edit(resp)
			resp.Body = &trailing{resp: resp, value: "key=" + value}
			if err := maskAnswer(resp, [][]byte{[]byte(value)}, 1<<20); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			if v := resp.Trailer.Get("X-Debug"); strings.Contains(v, value) {
				t.Errorf("the trailer kept the secret: %q", v)
			}
		})
	}
}
