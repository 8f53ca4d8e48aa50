package scrub

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func compress(t testing.TB, coding string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	default: // raw deflate, which some servers send as "deflate"
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeBodyCodings: gzip, x-gzip, deflate (zlib or raw) are decoded
// and the header made true of the decoded bytes; identity and none pass
// src itself; every other coding, or two, is unsearchable, the header
// left as it is.
func TestDecodeBodyCodings(t *testing.T) {
	body := []byte("echo " + oddSecret)
	for _, tc := range []struct{ header, coding string }{
		{"gzip", "gzip"}, {" X-GZIP ", "gzip"}, {"deflate", "deflate"}, {"deflate", "raw"}, {"identity, gzip", "gzip"},
	} {
		h := http.Header{"Content-Encoding": {tc.header}, "Content-Length": {"9"}, "Content-Digest": {"sha-256=:x:"}, "Etag": {`"e"`}}
		r, decoded, err := DecodeBody(h, bytes.NewReader(compress(t, tc.coding, body)), 1<<20)
		if err != nil || !decoded {
			t.Fatalf("%q: %v, decoded %v", tc.header, err, decoded)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%q (%s): %q, %v", tc.header, tc.coding, got, err)
		}
		if len(h) != 1 || h.Get("Etag") != `W/"e"` {
			t.Errorf("%q: header left %v", tc.header, h)
		}
	}
	for _, v := range [][]string{nil, {"identity"}, {""}, {" , identity"}} {
		src := strings.NewReader("x")
		if r, decoded, err := DecodeBody(http.Header{"Content-Encoding": v}, src, 1); err != nil || decoded || r != io.Reader(src) {
			t.Errorf("%q: %v, decoded %v, src passed %v", v, err, decoded, r == io.Reader(src))
		}
	}
	for _, v := range [][]string{{"br"}, {"zstd"}, {"gzip, gzip"}, {"gzip", "deflate"}, {"compress"}, {"gzip;q=1"}} {
		h := http.Header{"Content-Encoding": v, "Content-Length": {"9"}}
		if _, _, err := DecodeBody(h, strings.NewReader("x"), 1); !errors.Is(err, ErrUnsearchable) || len(h) != 2 {
			t.Errorf("%q: %v, header %v; want ErrUnsearchable, header kept", v, err, h)
		}
	}
}

// TestDecodeBodyBombCut: a body decoding to more than max bytes gives max
// bytes, then ErrDecodedTooLarge; one of exactly max bytes is whole.
func TestDecodeBodyBombCut(t *testing.T) {
	zeros := make([]byte, 1<<20)
	for _, tc := range []struct {
		max     int64
		wantErr error
	}{{1 << 10, ErrDecodedTooLarge}, {1 << 20, nil}} {
		r, _, _ := DecodeBody(http.Header{"Content-Encoding": {"gzip"}}, bytes.NewReader(compress(t, "gzip", zeros)), tc.max)
		got, err := io.ReadAll(r)
		if !errors.Is(err, tc.wantErr) || int64(len(got)) != tc.max {
			t.Errorf("max %d: %d bytes, %v; want %d, %v", tc.max, len(got), err, tc.max, tc.wantErr)
		}
	}
}

// TestDecodeBodyCorruptStreamFails: a corrupt gzip stream is a read
// error (a Masker then drops what it held back), never a silent end.
func TestDecodeBodyCorruptStreamFails(t *testing.T) {
	z := compress(t, "gzip", []byte("echo "+oddSecret))
	z[len(z)-5] ^= 0xff // the CRC
	for _, b := range [][]byte{z, []byte("not gzip at all"), z[:12]} {
		r, _, _ := DecodeBody(http.Header{"Content-Encoding": {"gzip"}}, bytes.NewReader(b), 1<<20)
		if _, err := io.ReadAll(NewMasker([]byte(oddSecret)).Reader(r, nil)); err == nil {
			t.Errorf("%q decoded without an error", b)
		}
	}
}

// FuzzDecodeBody: any Content-Encoding and any body: no panic, at most
// max bytes decoded, and a coding refused leaves the header alone.
func FuzzDecodeBody(f *testing.F) {
	f.Add("gzip", compress(f, "gzip", []byte("hello "+oddSecret)))
	f.Add("deflate", compress(f, "deflate", bytes.Repeat([]byte{0}, 1<<16)))
	f.Add("deflate", compress(f, "raw", []byte("raw")))
	f.Add("gzip, gzip", []byte{0x1f, 0x8b})
	f.Add("br", []byte("x"))
	f.Add("x-gzip,identity", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, coding string, body []byte) {
		const max = 4 << 10
		h := http.Header{"Content-Encoding": {coding}}
		r, decoded, err := DecodeBody(h, bytes.NewReader(body), max)
		if err != nil {
			if !errors.Is(err, ErrUnsearchable) || h.Get("Content-Encoding") != coding || decoded {
				t.Fatalf("%q: %v, header %v", coding, err, h)
			}
			return
		}
		got, _ := io.ReadAll(r)
		if !decoded && !bytes.Equal(got, body) || len(got) > max && decoded {
			t.Fatalf("%q: %d bytes read of %d (decoded %v)", coding, len(got), len(body), decoded)
		}
	})
}
