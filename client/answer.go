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

// maskAnswer scrubs resp, the answer to a request values were filled in:
// its header (scrub.Answer), and its body, read with every form of each value
// masked (scrub.Masker: same length, so an identity body keeps its
// Content-Length), and its trailers, which net/http fills in once the body
// has been read to its end, scrubbed then. A gzip or deflate body is
// decoded first, up to maxDecoded bytes (its reader then fails with
// ErrAnswerTooLarge), and comes without Content-Encoding and
// Content-Length, Uncompressed set. An answer in any other coding is closed
// and the error (ErrAnswerUnsearchable) returned: its bytes could hold a
// secret unsearched. An answer that has no body to search (HEAD, 204,
// 304, Content-Length 0) is read as it is, its trailers (HTTP/2 may send
// them after an empty body) still scrubbed at its end. A 101's connection is not masked: masking holds back bytes that
// could begin a secret until more come, which would stall a protocol that
// waits for an answer to its last message (its headers are scrubbed like
// any answer's). The body works in one buffer of its own
// (scrub.Masker.BufferSize: 32 KiB, or twice the longest form of a longer
// secret) and passes bytes on as they come, holding back only what could
// begin a secret.
func maskAnswer(resp *http.Response, values [][]byte, maxDecoded int64) error {
	secrets := make([]scrub.Secret, len(values))
	for i, v := range values {
		secrets[i] = scrub.New(v)
	}
	scrub.Answer(resp, secrets...)
	raw := resp.Body
	switch {
	case raw == nil || raw == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols:
		return nil
	case resp.ContentLength == 0 || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified ||
		(resp.Request != nil && resp.Request.Method == http.MethodHead):
		resp.Body = &maskedBody{raw: raw, src: raw, resp: resp, secrets: secrets}
		return nil
	}
	src, decoded, err := scrub.DecodeBody(resp.Header, raw, maxDecoded)
	if err != nil {
		_ = raw.Close()
		return fmt.Errorf("%w: %w", ErrAnswerUnsearchable, err)
	}
	if decoded {
		resp.ContentLength, resp.Uncompressed = -1, true
	}
	resp.Body = &maskedBody{raw: raw, src: scrub.NewMasker(values...).Reader(src, nil), resp: resp, secrets: secrets}
	return nil
}

// maskedBody is an answer's body as maskAnswer makes it. Close may be
// called while a Read waits (it closes the answer's body, which ends the
// Read); the buffer is the body's own, never shared.
type maskedBody struct {
	raw     io.ReadCloser
	src     io.Reader // raw read through a scrub.MaskReader, or raw when there is nothing to search
	resp    *http.Response
	secrets []scrub.Secret
}

func (b *maskedBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	switch {
	case err == io.EOF:
		// net/http has filled the trailers in by now.
		scrub.Header(b.resp.Trailer, b.secrets...)
	case err == scrub.ErrDecodedTooLarge:
		err = fmt.Errorf("%w: %w", ErrAnswerTooLarge, err)
	}
	return n, err
}

func (b *maskedBody) Close() error { return b.raw.Close() }
