package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

// maskWhole is the reference: every byte of every occurrence of a form in
// in, overlapping ones too, replaced by the mask byte, found by trying
// each form at each position.
func maskWhole(m *Masker, in []byte) []byte {
	out := bytes.Clone(in)
	for i := range in {
		for _, f := range m.forms {
			if bytes.HasPrefix(in[i:], f) {
				for k := range f {
					out[i+k] = m.mask
				}
			}
		}
	}
	return out
}

// chunks reads b in pieces whose sizes cycle through sizes (0 reads
// included, which a reader may return).
type chunks struct {
	b        []byte
	sizes    []byte
	i        int
	lastZero bool
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(c.b)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])
		c.i++
		if n == 0 && c.lastZero {
			n = 1 // one empty read at a time: the reader makes progress
		}
		c.lastZero = n == 0
	}
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

func maskAll(t testing.TB, m *Masker, r io.Reader) []byte {
	t.Helper()
	out, err := io.ReadAll(m.Reader(r, nil))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// maskReads reads a MaskReader of r into p of size n each time (small:
// its own buffer is used; large: rounds work in p).
func maskReads(t testing.TB, m *Masker, r io.Reader, n int) []byte {
	t.Helper()
	mr, p := m.Reader(r, nil), make([]byte, n)
	var out []byte
	for {
		k, err := mr.Read(p)
		out = append(out, p[:k]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const oddSecret = "Sk/odd+sec ret&k=\"7%d1e"

// TestMaskerFormsAreWhatSecretFinds: every form but the JSON escapes is
// one that Secret.In finds (one notion of an echo for headers and
// bodies), and a plain secret has one form.
func TestMaskerFormsAreWhatSecretFinds(t *testing.T) {
	s := New([]byte(oddSecret))
	forms := Forms([]byte(oddSecret))
	if len(forms) < 8 {
		t.Fatalf("%d forms of an odd secret", len(forms))
	}
	for _, f := range forms {
		if !s.In(string(f)) && !bytes.Contains(f, []byte(`\`)) {
			t.Errorf("form %q is not found by Secret.In", f)
		}
	}
	for _, want := range []string{url.QueryEscape(oddSecret), lowerHex(url.PathEscape(oddSecret)), `Sk\/odd+sec ret&k=\"7%d1e`, `Sk/odd+sec ret\u0026k=\"7%d1e`} {
		if !hasForm(forms, want) {
			t.Errorf("no form %q", want)
		}
	}
	if f := Forms([]byte("sk_live-4eC39HqLyjWDarjtT1zdp7dc.x~")); len(f) != 1 {
		t.Errorf("a plain secret has %d forms: %q", len(f), f)
	}
	if Forms(nil) != nil || len(NewMasker(nil).forms) != 0 {
		t.Error("an empty secret has forms")
	}
	if got := fmt.Sprintf("%v %+v", NewMasker([]byte(oddSecret)), *NewMasker([]byte(oddSecret))); strings.Contains(got, "odd") {
		t.Errorf("a Masker prints its secret: %s", got)
	}
}

// TestMaskReaderEchoSplitAcrossReads: an echo that reaches the reader one
// byte at a time, or split anywhere, is masked as a whole body is.
func TestMaskReaderEchoSplitAcrossReads(t *testing.T) {
	m := NewMasker([]byte(oddSecret))
	body := []byte(`{"error":"invalid request https://api/x?q=1&key=` + url.QueryEscape(oddSecret) +
		`", "header":"` + `Sk\/odd+sec ret&k=\"7%d1e` + `", "raw":"` + oddSecret + oddSecret[:5] + `"}`)
	want := maskWhole(m, body)
	if bytes.Equal(want, body) || bytes.Contains(want, []byte("odd")) {
		t.Fatalf("the reference masked nothing: %s", want)
	}
	if got := maskAll(t, m, iotest.OneByteReader(bytes.NewReader(body))); !bytes.Equal(got, want) {
		t.Errorf("one byte at a time:\n got %s\nwant %s", got, want)
	}
	for split := range body {
		if got := maskAll(t, m, io.MultiReader(bytes.NewReader(body[:split]), bytes.NewReader(body[split:]))); !bytes.Equal(got, want) {
			t.Fatalf("split at %d:\n got %s\nwant %s", split, got, want)
		}
	}
}

// TestMaskReaderOverlappingEchoes: occurrences that overlap are all
// masked, and masking makes no new one.
func TestMaskReaderOverlappingEchoes(t *testing.T) {
	m := NewMasker([]byte("abab"))
	if got := maskAll(t, m, strings.NewReader("xabababx abab")); string(got) != "x******x ****" {
		t.Errorf("got %q", got)
	}
	m = NewMasker([]byte("a*"))
	if m.mask == '*' {
		t.Fatal("the mask byte is in the secret")
	}
	if got := maskAll(t, m, strings.NewReader("aa*")); bytes.Contains(got, []byte("a*")) {
		t.Errorf("masking made an occurrence: %q", got)
	}
}

// failAfter returns its data on the first read and fails the next.
type failAfter struct {
	data []byte
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.data == nil {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = nil
	return n, nil
}

// TestMaskReaderHoldsBackOnlyAPrefix: what cannot begin a form passes at
// once (an event stream is not delayed), what could is held until it is
// decided, and a source that breaks off drops it: a form's first bytes
// never pass on a cut-off answer.
func TestMaskReaderHoldsBackOnlyAPrefix(t *testing.T) {
	m := NewMasker([]byte("sk_secret_40"))
	broken := errors.New("upstream went away")
	mr := m.Reader(&failAfter{data: []byte("data: tick\n\nkey=sk_sec"), err: broken}, nil)
	p := make([]byte, 100)
	n, err := mr.Read(p)
	if err != nil || string(p[:n]) != "data: tick\n\nkey=" {
		t.Fatalf("first read: %q, %v", p[:n], err)
	}
	if n, err := mr.Read(p); n != 0 || !errors.Is(err, broken) {
		t.Fatalf("second read: %q, %v; want the source's error and nothing held back", p[:n], err)
	}
	mr = m.Reader(&failAfter{data: []byte("key=sk_sec"), err: io.EOF}, nil)
	if got, err := io.ReadAll(mr); err != nil || string(got) != "key=sk_sec" {
		t.Fatalf("at EOF: %q %v", got, err)
	}
}

// TestMaskReaderAllocations: masking a body allocates the reader and
// nothing per read.
func TestMaskReaderAllocations(t *testing.T) {
	m := NewMasker([]byte(oddSecret))
	body := bytes.Repeat([]byte("0123456789abcdef "+url.QueryEscape(oddSecret)+" "), 4096)
	buf := make([]byte, m.BufferSize())
	out := make([]byte, 32<<10)
	src := bytes.NewReader(body)
	allocs := testing.AllocsPerRun(10, func() {
		src.Reset(body)
		mr := m.Reader(src, buf)
		for {
			if _, err := mr.Read(out); err != nil {
				break
			}
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per body, want 1", allocs)
	}
}

// FuzzMaskReader: a body read in arbitrary pieces is masked as the
// reference masks it whole, and holds no form afterwards.
func FuzzMaskReader(f *testing.F) {
	f.Add([]byte(`{"error":"bad https://api/x?key=Sk%2Fodd%2Bsec+ret%26k%3D%227%25d1e"}`), []byte(oddSecret), []byte{1})
	f.Add([]byte("xabababx abab"), []byte("abab"), []byte{3, 0, 2})
	f.Add([]byte("aa*"), []byte("a*"), []byte{1})
	f.Add([]byte(`{"h":"Sk\/odd+sec ret\u0026k=\"7%d1e"}`), []byte(oddSecret), []byte{7, 1})
	f.Fuzz(func(t *testing.T, body, secret, sizes []byte) {
		if len(secret) > 64 || len(body) > 1<<16 {
			return
		}
		m := NewMasker(secret)
		want := maskWhole(m, body)
		got := maskAll(t, m, &chunks{b: body, sizes: sizes})
		if !bytes.Equal(got, want) {
			t.Fatalf("read in pieces %v:\n got %q\nwant %q", sizes, got, want)
		}
		for _, n := range []int{1, 7, 600} {
			if got := maskReads(t, m, &chunks{b: body, sizes: sizes}, n); !bytes.Equal(got, want) {
				t.Fatalf("read in pieces %v into %d bytes:\n got %q\nwant %q", sizes, n, got, want)
			}
		}
		for _, f := range m.forms {
			if bytes.Contains(got, f) {
				t.Fatalf("form %q left in %q", f, got)
			}
		}
	})
}

// TestMaskerSeveralSecrets: a Masker of two secrets masks every form of
// each, echoes of one overlapping the other's too, however split.
func TestMaskerSeveralSecrets(t *testing.T) {
	a, b := "sk_live_abc", oddSecret
	m := NewMasker([]byte(a), []byte(b), []byte(a), nil)
	body := []byte("x=" + a + b + "&y=" + url.QueryEscape(b) + a[:4] + " " + "sk_live_" + a + `{"k":"Sk\/odd+sec ret&k=\"7%d1e"}`)
	want := maskWhole(m, body)
	for _, sizes := range [][]byte{nil, {1}, {3, 0, 2}} {
		if got := maskAll(t, m, &chunks{b: body, sizes: sizes}); !bytes.Equal(got, want) {
			t.Fatalf("pieces %v: %q, want %q", sizes, got, want)
		}
	}
	for _, v := range []string{a, b, url.QueryEscape(b), `Sk\/odd+sec ret&k=\"7%d1e`} {
		if bytes.Contains(want, []byte(v)) {
			t.Errorf("%q left in %q", v, want)
		}
	}
	if n := len(m.forms); n != 1+len(Forms([]byte(b))) {
		t.Errorf("%d forms, want each once", n)
	}
}

// FuzzMaskReaderSecrets: a Masker of two secrets (of up to MaxForms forms
// each: more than one MaskReader's inline room) masks a body read in
// arbitrary pieces as the reference masks it whole.
func FuzzMaskReaderSecrets(f *testing.F) {
	f.Add([]byte("k=sk_live_abc&o=Sk%2Fodd%2Bsec+ret%26k%3D%227%25d1e sk_live_abcSk/odd"), []byte("sk_live_abc"), []byte(oddSecret), []byte{1})
	f.Add([]byte("abcab abab"), []byte("ab"), []byte("bab"), []byte{2, 0, 1})
	f.Add([]byte(`"a b" "a+b" "a%20b"`), []byte("a b"), []byte(`"a`), []byte{5})
	f.Fuzz(func(t *testing.T, body, s1, s2, sizes []byte) {
		if len(s1) > 64 || len(s2) > 64 || len(body) > 1<<16 {
			return
		}
		m := NewMasker(s1, s2)
		want := maskWhole(m, body)
		if got := maskAll(t, m, &chunks{b: body, sizes: sizes}); !bytes.Equal(got, want) {
			t.Fatalf("read in pieces %v:\n got %q\nwant %q", sizes, got, want)
		}
		if got := maskReads(t, m, &chunks{b: body, sizes: sizes}, 600); !bytes.Equal(got, want) {
			t.Fatalf("read in pieces %v into 600 bytes:\n got %q\nwant %q", sizes, got, want)
		}
		for _, f := range m.forms {
			if bytes.Contains(want, f) && m.mask != f[0] {
				t.Fatalf("form %q left in %q", f, want)
			}
		}
	})
}

// TestMaskReaderLeavesNothingUnmaskedInP: a read straight into the
// caller's buffer (a large p) leaves nothing undecided past n: the held
// back start of a secret, and the bytes of a failed read, are not left in
// p for a careless caller that logs all of it.
func TestMaskReaderLeavesNothingUnmaskedInP(t *testing.T) {
	secret := []byte("sk_live_0123456789abcdef")
	m := NewMasker(secret)
	head := append(bytes.Repeat([]byte("x"), 600), secret[:len(secret)-4]...) // ends with most of the secret
	for name, src := range map[string]io.Reader{
		"held back":   io.MultiReader(bytes.NewReader(head), bytes.NewReader(secret[len(secret)-4:])),
		"failed read": &failWith{data: head},
	} {
		t.Run(name, func(t *testing.T) {
			mr := m.Reader(src, nil)
			p := make([]byte, 4096)
			n, err := mr.Read(p)
			if bytes.Contains(p[n:], secret[:8]) || bytes.Contains(p[:n], secret[:8]) {
				t.Errorf("after Read (%d, %v), p holds the secret's start unmasked", n, err)
			}
		})
	}
}

// failWith returns data in one read together with an error.
type failWith struct{ data []byte }

func (f *failWith) Read(p []byte) (int, error) {
	return copy(p, f.data), errors.New("connection reset")
}
