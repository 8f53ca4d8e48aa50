package scrub

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
)

// The errors of DecodeBody; test with errors.Is.
var (
	// ErrUnsearchable: the body has a content coding DecodeBody cannot
	// decode (br, zstd, compress, an unknown one, or more than one), so
	// it cannot be searched for a secret.
	ErrUnsearchable = errors.New("scrub: the body's content coding cannot be searched")
	// ErrDecodedTooLarge: a compressed body decoded to more than the
	// limit; what follows is not read.
	ErrDecodedTooLarge = errors.New("scrub: the decoded body is over the limit")
)

// DefaultMaxDecoded is the decoded size both the edge's proxy and the SDK
// allow a compressed answer by default (64 MiB).
const DefaultMaxDecoded = 64 << 20

// DecodeBody returns what a search of a body with header h reads: src
// itself (decoded false) when h names no content coding but identity;
// for gzip (x-gzip) or deflate, a reader of the decoded bytes that fails
// with ErrDecodedTooLarge past max bytes (a decompression bomb costs no
// more), and h then loses Content-Encoding, Content-Length and the digests
// of the encoded bytes (Content-Digest, Repr-Digest, Content-MD5), and a
// strong ETag is made weak. The gzip header is read on the first Read, not
// here. Any other coding, or two (gzip, gzip), is an error wrapping
// ErrUnsearchable, and h is left as it is.
//
// A decoding error (a corrupt stream) is returned by Read, wrapped; a
// Masker reading the decoded bytes then drops what it held back.
func DecodeBody(h http.Header, src io.Reader, max int64) (r io.Reader, decoded bool, err error) {
	coding, err := bodyCoding(h)
	if err != nil || coding == "" {
		return src, false, err
	}
	// The digests of RFC 9530 (and Content-MD5) are over the encoded
	// bytes: passed on with decoded ones, they would be wrong.
	for _, name := range [...]string{"Content-Encoding", "Content-Length", "Content-Digest", "Repr-Digest", "Content-Md5"} {
		delete(h, name)
	}
	// A strong validator names the encoded bytes; the decoded ones are the
	// same resource, not the same bytes (RFC 9110 §8.8.1).
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("Etag", "W/"+et)
	}
	return Capped(&decoder{coding: coding, src: src}, max, ErrDecodedTooLarge), true, nil
}

// bodyCoding is the content coding of the body h heads that DecodeBody
// decodes ("gzip", "deflate"; "" for none or identity), or an error
// wrapping ErrUnsearchable.
func bodyCoding(h http.Header) (string, error) {
	coding := ""
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(textproto.TrimString(c)); c {
			case "", "identity":
			case "gzip", "x-gzip", "deflate":
				if coding != "" {
					return "", fmt.Errorf("%w: more than one content coding", ErrUnsearchable)
				}
				coding = strings.TrimPrefix(c, "x-")
			default:
				return "", fmt.Errorf("%w: content coding %.32q", ErrUnsearchable, c)
			}
		}
	}
	return coding, nil
}

// Capped reads at most max bytes of r, then fails with tooLarge (instead
// of reading more) when r has more: one byte is read past max to tell a
// body of exactly max bytes from a longer one.
func Capped(r io.Reader, max int64, tooLarge error) io.Reader {
	return &capped{r: r, left: max, tooLarge: tooLarge}
}

type capped struct {
	r        io.Reader
	left     int64 // bytes still allowed
	tooLarge error
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, c.tooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// decoder decodes a gzip or deflate body, opened on the first Read.
// "deflate" is the zlib format (RFC 9110 §8.4.1.2); a raw deflate stream,
// which some servers send instead, is read too.
type decoder struct {
	coding string
	src    io.Reader
	r      io.Reader
}

func (d *decoder) Read(p []byte) (int, error) {
	if d.r == nil {
		if err := d.open(); err != nil {
			return 0, err
		}
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("scrub: %s body: %w", d.coding, err)
	}
	return n, err
}

// open starts decoding. An empty body is an empty body whatever its coding
// says (as net/http's own gzip reader reads it): io.EOF.
func (d *decoder) open() error {
	br := bufio.NewReaderSize(d.src, 512)
	head, _ := br.Peek(2)
	if len(head) == 0 {
		if _, err := br.ReadByte(); err != io.EOF {
			return fmt.Errorf("scrub: %s body: %w", d.coding, err)
		}
		return io.EOF
	}
	var err error
	switch d.coding {
	case "gzip":
		d.r, err = gzip.NewReader(br)
	default:
		if len(head) == 2 && head[0]&0x0f == 8 && (uint(head[0])<<8|uint(head[1]))%31 == 0 {
			d.r, err = zlib.NewReader(br)
		} else {
			d.r = flate.NewReader(br)
		}
	}
	if err != nil {
		return fmt.Errorf("scrub: %s body: %w", d.coding, err)
	}
	return nil
}
