package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Masker masks the echoes of one or more secrets in a stream: every byte of
// every occurrence of one of their forms (Forms) becomes the mask byte, so
// the stream keeps its length (a Content-Length stays true). Occurrences
// that overlap, of one secret or of two, are all masked: the output is the
// input with the union of every occurrence, in the input, masked, however
// the input is split into reads. The search costs time in proportion to
// the number of forms (at most MaxForms per secret).
//
// A Masker is immutable and safe for concurrent use; its zero value, and
// the Masker of no secret or only empty ones, mask nothing.
type Masker struct {
	forms     [][]byte
	anchor    []int // per form, the offset of its rarest byte
	anchorBuf [MaxForms]int
	maxLen    int
	first     [256]bool // first bytes of the forms
	mask      byte
}

// NewMasker returns the Masker of the forms of every value (each form
// once). The values are copied.
func NewMasker(values ...[]byte) *Masker {
	m := &Masker{}
	if len(values) == 1 {
		m.forms = Forms(values[0])
	} else {
		for _, v := range values {
			for _, f := range Forms(v) {
				if !hasForm(m.forms, string(f)) {
					m.forms = append(m.forms, f)
				}
			}
		}
	}
	m.anchor = m.anchorBuf[:0]
	var used [256]bool
	for _, f := range m.forms {
		m.anchor = append(m.anchor, rarest(f))
		m.maxLen = max(m.maxLen, len(f))
		m.first[f[0]] = true
		for _, c := range f {
			used[c] = true
		}
	}
	// The mask byte is in no form: masked bytes never begin or complete
	// an occurrence, and masking creates none.
	m.mask = maskByte(&used)
	return m
}

// Format prints a placeholder, never a form.
func (m *Masker) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("scrub.Masker(redacted)")) }

// maskByte is the first of '*', '#', '~', '!', '^', '|' and then of every
// byte that used does not hold.
func maskByte(used *[256]bool) byte {
	for _, c := range []byte("*#~!^|") {
		if !used[c] {
			return c
		}
	}
	for c := range 256 {
		if !used[c] {
			return byte(c)
		}
	}
	return '*' // a secret of every byte value: masking may then make an occurrence
}

// BufferSize is the least size of the buffer a MaskReader of m needs:
// room for the longest form twice, and at least 32 KiB.
func (m *Masker) BufferSize() int { return max(32<<10, 2*m.maxLen) }

// Reader returns a MaskReader of src that works in buf (nil: it allocates
// one of BufferSize; a shorter one is not used). The caller owns buf again
// once it has stopped reading.
func (m *Masker) Reader(src io.Reader, buf []byte) *MaskReader {
	if len(buf) < m.BufferSize() {
		buf = make([]byte, m.BufferSize())
	}
	mr := &MaskReader{m: m, src: src, buf: buf}
	if mr.next = mr.nextBuf[:0]; len(m.forms) > MaxForms {
		mr.next = make([]int, 0, len(m.forms))
	}
	mr.next = mr.next[:len(m.forms)]
	return mr
}

// MaskReader reads its source with every form of the secret masked. It
// holds back at most the longest form less one byte, and only while what
// it holds back could begin a form: the rest of each read passes at once
// (an event stream is not delayed by the masking). A source error other
// than io.EOF drops what was held back (it might be a form's beginning)
// and is returned. It is not safe for concurrent use.
type MaskReader struct {
	m   *Masker
	src io.Reader
	buf []byte
	// buf[r:ready] is masked and ready; buf[ready:w] is held back, as
	// read; bytes of it before carry belong to an occurrence already
	// found and will be masked.
	r, ready, w, carry int
	found              int   // occurrences found
	err                error // the source's, once it failed
	next               []int // per form, its next occurrence (scan's)
	nextBuf            [MaxForms]int
}

// errMaskClosed is what a MaskReader reads once its buffer is gone.
var errMaskClosed = errors.New("scrub: mask reader released")

// Found is how many occurrences of a form have been masked so far.
func (mr *MaskReader) Found() int { return mr.found }

// Release stops mr: it reads nothing more and no longer uses its buffer.
func (mr *MaskReader) Release() {
	mr.buf, mr.r, mr.ready, mr.w = nil, 0, 0, 0
	if mr.err == nil {
		mr.err = errMaskClosed
	}
}

// Read reads into p what is decided. When nothing is ready in its own
// buffer and p has room for the longest form twice, a round works in p
// itself (what was held back is moved there first), which saves a copy.
func (mr *MaskReader) Read(p []byte) (int, error) {
	for mr.r == mr.ready {
		if mr.err != nil {
			return 0, mr.err
		}
		if len(p) >= 2*mr.m.maxLen && len(p) >= 512 {
			if n := mr.direct(p); n > 0 {
				return n, nil
			}
			continue
		}
		mr.fill()
	}
	n := copy(p, mr.buf[mr.r:mr.ready])
	mr.r += n
	return n, nil
}

// fill is a round in the reader's own buffer.
func (mr *MaskReader) fill() {
	if mr.ready > 0 { // everything ready was read: keep only the held back
		n := copy(mr.buf, mr.buf[mr.ready:mr.w])
		mr.carry = max(mr.carry-mr.ready, 0)
		mr.r, mr.ready, mr.w = 0, 0, n
	}
	w, limit, carry := mr.round(mr.buf, mr.w, mr.carry)
	mr.w, mr.ready, mr.carry = w, limit, carry
}

// direct is a round in p; it returns how many bytes of p are decided
// (the held back are moved to the reader's buffer). Nothing undecided is
// left in p past what it returns: a caller that looks at p beyond n (the
// io.Reader contract lets p be scratch, but a careless logger might)
// finds zeros, not a secret's unmasked bytes.
func (mr *MaskReader) direct(p []byte) int {
	h := copy(p, mr.buf[mr.ready:mr.w])
	w, limit, carry := mr.round(p, h, max(mr.carry-mr.ready, 0))
	if w == 0 && mr.err != nil { // a failed read: what it put in p is dropped
		clear(p)
	}
	mr.w = copy(mr.buf, p[limit:w])
	clear(p[limit:w])
	mr.r, mr.ready, mr.carry = 0, 0, max(carry-limit, 0)
	return limit
}

// round reads once from the source into b after its first held bytes
// (held back from the last round; those before carry are an occurrence's
// and will be masked) and masks what is decided. It returns how many
// bytes b holds, how many of them are decided (masked, ready), and the new
// carry. A source error other than io.EOF drops everything undecided.
func (mr *MaskReader) round(b []byte, held, carry int) (w, limit, newCarry int) {
	n, err := mr.src.Read(b[held:])
	w = held + n
	switch {
	case err == io.EOF:
		limit = w
	case err != nil:
		mr.err = err
		return 0, 0, 0 // drop what was held back: it may begin a form
	default:
		limit = mr.heldFrom(b[:w])
	}
	if len(mr.m.forms) > 0 {
		carry = mr.scan(b[:w], limit, carry)
	}
	if err != nil {
		mr.err = err
	}
	return w, limit, carry
}

// heldFrom is where the bytes to hold back begin in b: the first position
// of its last maxLen-1 bytes whose rest is a proper prefix of a form. A
// form that begins before it either ends by len(b) or is not there.
func (mr *MaskReader) heldFrom(b []byte) int {
	for i := max(0, len(b)-mr.m.maxLen+1); i < len(b); i++ {
		if !mr.m.first[b[i]] {
			continue
		}
		for _, f := range mr.m.forms {
			if len(f) > len(b)-i && bytes.HasPrefix(f, b[i:]) {
				return i
			}
		}
	}
	return len(b)
}

// scan finds every occurrence of a form that begins in b[:limit] (they
// all end by len(b)), in the bytes as read, and masks their union (and
// b[:carry]) up to limit; it returns how far the union reaches. The forms
// are searched side by side in the order of their positions (a merge), so
// that an interval is masked only once no form can begin in it any more.
func (mr *MaskReader) scan(b []byte, limit, carry int) int {
	forms, next := mr.m.forms, mr.next
	for i, f := range forms {
		next[i] = index(b, 0, limit, f, mr.m.anchor[i])
	}
	cs, ce := 0, carry // the open interval to mask
	for {
		j := -1
		for i := range forms {
			if next[i] >= 0 && (j < 0 || next[i] < next[j]) {
				j = i
			}
		}
		if j < 0 {
			break
		}
		s, e := next[j], next[j]+len(forms[j])
		if s > ce {
			mr.fillMask(b, cs, ce)
			cs = s
		}
		ce = max(ce, e)
		mr.found++
		next[j] = index(b, s+1, limit, forms[j], mr.m.anchor[j])
	}
	mr.fillMask(b, cs, min(ce, limit))
	return ce
}

func (mr *MaskReader) fillMask(b []byte, from, to int) {
	for i := from; i < to; i++ {
		b[i] = mr.m.mask
	}
}

// index is the first position in [from, limit) where f occurs in b, or -1.
// It looks for f's byte at anchor (its rarest) with IndexByte, which runs
// at memory speed while that byte is rare; where it is not, bytes.Index
// takes over (the cost per byte stays bounded by its).
func index(b []byte, from, limit int, f []byte, anchor int) int {
	end := min(len(b), limit+len(f)-1) // f must lie in b[from:end]
	if from >= limit || end-from < len(f) {
		return -1
	}
	c := f[anchor]
	lo, hi := from+anchor, end-len(f)+anchor+1 // where the anchor may be
	for fails := 0; lo < hi; {
		i := bytes.IndexByte(b[lo:hi], c)
		if i < 0 {
			return -1
		}
		start := lo + i - anchor
		if bytes.Equal(b[start:start+len(f)], f) {
			return start
		}
		lo += i + 1
		if fails++; fails > 4+(lo-from)>>4 {
			if i := bytes.Index(b[lo-anchor:end], f); i >= 0 {
				return lo - anchor + i
			}
			return -1
		}
	}
	return -1
}

// rarest is the offset of the byte of f least likely in text (the first
// of the rarest): the byte index searches for.
func rarest(f []byte) int {
	best := 0
	for i, c := range f {
		if commonness(c) < commonness(f[best]) {
			best = i
		}
	}
	return best
}

// commonness ranks a byte by how often it is in JSON, HTML and English
// text (0: rarely).
func commonness(c byte) int {
	switch {
	case strings.IndexByte(" etaoinsrhldcu\":,", c) >= 0:
		return 5
	case 'a' <= c && c <= 'z', strings.IndexByte("./-_0123\n", c) >= 0:
		return 4
	case '0' <= c && c <= '9', strings.IndexByte("{}[]=&?%<>", c) >= 0:
		return 3
	case 'A' <= c && c <= 'Z':
		return 2
	case c < 0x80:
		return 1
	}
	return 0
}
