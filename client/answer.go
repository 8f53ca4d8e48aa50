package client

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/attestd/attestd/client/scrub"
)

// askForSearchable makes out, a request a secret was filled in, ask for an
// answer whose body can be searched: whole (Range and If-Range dropped: a
// secret cut across two ranges would be masked in neither) and, unless the
// app asked for codings itself, not compressed (Accept-Encoding: identity;
// Go's transport then adds no gzip of its own).
func askForSearchable(h http.Header) {
	asked := false
	for name := range h {
		switch {
		case strings.EqualFold(name, "Range"), strings.EqualFold(name, "If-Range"):
			delete(h, name)
		case strings.EqualFold(name, "Accept-Encoding"):
			asked = true
		}
	}
	if !asked {
		h["Accept-Encoding"] = []string{"identity"}
	}
}

// maskAnswer makes resp's body, the answer to a request values were filled
// in, read with every form of each value masked (scrub.Masker: same
// length, so an identity body keeps its Content-Length). A gzip or deflate
// body is decoded first, up to maxDecoded bytes (its reader then fails with
// ErrAnswerTooLarge), and comes without Content-Encoding and
// Content-Length, Uncompressed set. An answer in any other coding is closed
// and the error (ErrAnswerUnsearchable) returned: its bytes could hold a
// secret unsearched. No body (HEAD, 204, 304, a scrubbed redirect): nothing
// to do. The body works in one buffer of its own (scrub.Masker.BufferSize:
// 32 KiB, or twice the longest form of a longer secret) and passes bytes on
// as they come, holding back only what could begin a secret.
func maskAnswer(resp *http.Response, values [][]byte, maxDecoded int64) error {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	raw := resp.Body
	src, decoded, err := scrub.DecodeBody(resp.Header, raw, maxDecoded)
	if err != nil {
		_ = raw.Close()
		return fmt.Errorf("%w: %w", ErrAnswerUnsearchable, err)
	}
	if decoded {
		resp.ContentLength, resp.Uncompressed = -1, true
	}
	mb := &maskedBody{raw: raw, mr: scrub.NewMasker(values...).Reader(src, nil)}
	if w, ok := raw.(io.Writer); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		// A 101's body is the connection both ways (a WebSocket, say):
		// what comes in is masked, what goes out passes.
		resp.Body = &maskedConn{maskedBody: mb, w: w}
		return nil
	}
	resp.Body = mb
	return nil
}

// maskedBody is an answer's body as maskAnswer makes it. Close may be
// called while a Read waits (it closes the answer's body, which ends the
// Read); the buffer is the body's own, never shared.
type maskedBody struct {
	raw io.ReadCloser
	mr  *scrub.MaskReader
}

func (b *maskedBody) Read(p []byte) (int, error) {
	n, err := b.mr.Read(p)
	if err == scrub.ErrDecodedTooLarge {
		err = fmt.Errorf("%w: %w", ErrAnswerTooLarge, err)
	}
	return n, err
}

func (b *maskedBody) Close() error { return b.raw.Close() }

// maskedConn is the body of a 101 answer: masked reads, plain writes.
type maskedConn struct {
	*maskedBody
	w io.Writer
}

func (c *maskedConn) Write(p []byte) (int, error) { return c.w.Write(p) }
