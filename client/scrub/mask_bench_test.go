package scrub

import (
	"bytes"
	"io"
	"testing"
)

// benchBody is 1 MiB of JSON-like text with the 40-byte secret echoed
// once in every 64 KiB.
func benchBody(secret string) []byte {
	var b bytes.Buffer
	line := []byte(`{"id":12345,"name":"Some Product","tags":["a","b","c"],"url":"https://api.example/v1/items?page=2"},` + "\n")
	for b.Len() < 1<<20 {
		if b.Len()%(64<<10) < len(line) {
			b.WriteString(`{"error":"invalid request https://api/x?key=` + secret + `"},`)
		}
		b.Write(line)
	}
	return b.Bytes()[:1<<20]
}

const benchSecret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9aB3xQ2m" // 40 bytes

// onlyReader and onlyWriter hide WriterTo and ReaderFrom, so that io.Copy
// moves the body through its 32 KiB buffer as the proxy's adapters do.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// BenchmarkCopyBaseline: io.Copy of the body, the floor of any stream.
func BenchmarkCopyBaseline(b *testing.B) {
	body := benchBody(benchSecret)
	src := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		if _, err := io.Copy(onlyWriter{io.Discard}, onlyReader{src}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMaskReader: the same copy through a MaskReader (its buffer
// reused, as the proxy pools it; the Masker made once per answer).
func BenchmarkMaskReader(b *testing.B) {
	body := benchBody(benchSecret)
	src := bytes.NewReader(body)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		m := NewMasker([]byte(benchSecret))
		if _, err := io.Copy(onlyWriter{io.Discard}, onlyReader{m.Reader(src, buf)}); err != nil {
			b.Fatal(err)
		}
	}
}
