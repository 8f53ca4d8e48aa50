package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/attestd/attestd/client/scrub"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// What a scrubbed answer's body came to, as AnswerObserver counts it.
const (
	// AnswerMasked: the body held the API's secret, masked.
	AnswerMasked = "masked"
	// AnswerUnsearchable: the answer had a Content-Encoding the proxy
	// cannot decode, and was refused 502 bad_gateway.
	AnswerUnsearchable = "unsearchable"
	// AnswerDecodedTooLarge: a compressed body decoded to more than
	// Config.MaxDecodedBytes and was cut off there.
	AnswerDecodedTooLarge = "decoded_too_large"
)

// AnswerObserver, when Config.Observer implements it too, learns what the
// body scrubbing did to an answer (one of the Answer* outcomes, at most
// once per answer and outcome).
type AnswerObserver interface {
	ProxyAnswer(outcome string)
}

// scrubBody makes resp's body what an adapter streams: the upstream's
// bytes (cut off when idle for BodyIdleTimeout; Close cancels the
// exchange), decoded when gzip or deflate (up to MaxDecodedBytes, passed on
// without Content-Encoding, Content-Length and the digests of the encoded
// bytes, a strong ETag made weak), every form of the API's
// secret masked (client/scrub.Masker: same length, so an identity body
// keeps its Content-Length). An answer in any other coding is refused
// 502 bad_gateway: its bytes could hold the secret unsearched.
func (p *Proxy) scrubBody(in *inbound, api *registry.API, resp *http.Response, cancel context.CancelFunc) error {
	if resp.Body == nil || resp.Body == http.NoBody {
		// No body (HEAD, 204, 304, a scrubbed redirect); Close still
		// ends the exchange.
		resp.Body = newAnswerBody(http.NoBody, cancel, p.cfg.BodyIdleTimeout)
		return nil
	}
	sb := &scrubbedBody{p: p, api: api.Name, logCtx: in.logCtx,
		raw: newAnswerBody(resp.Body, cancel, p.cfg.BodyIdleTimeout)}
	src, decoded, err := scrub.DecodeBody(resp.Header, sb.raw, p.cfg.MaxDecodedBytes)
	if err != nil {
		p.answerOutcome(AnswerUnsearchable)
		return apierr.Wrap(apierr.ErrBadGateway.WithMessage("the upstream's answer could not be searched for the secret"),
			fmt.Errorf("proxy: api %q: %w", api.Name, err))
	}
	if decoded {
		resp.ContentLength = -1
	}
	sb.buf = p.maskBufs.Get().(*[]byte)
	sb.mr = scrub.NewMasker(api.Secret.Reveal()).Reader(src, *sb.buf)
	resp.Body = sb
	return nil
}

// maskBufSize is the size of the pooled buffers MaskReaders work in; a
// secret whose forms need more gets a buffer of its own.
const maskBufSize = 32 << 10

func newMaskBuf() any {
	b := make([]byte, maskBufSize)
	return &b
}

// scrubbedBody is an answer's body as scrubBody makes it. Read and Close
// must not be called concurrently (neither adapter does); after Close it
// reads nothing.
type scrubbedBody struct {
	p      *Proxy
	api    string
	logCtx context.Context
	raw    *answerBody
	buf    *[]byte
	mr     *scrub.MaskReader
	err    error // the first read error but io.EOF
	once   sync.Once
}

func (b *scrubbedBody) Read(p []byte) (int, error) {
	n, err := b.mr.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// Close ends the exchange, gives the buffer back, and logs and counts
// what the scrubbing did (never the secret).
func (b *scrubbedBody) Close() error {
	var err error
	b.once.Do(func() {
		err = b.raw.Close()
		found := b.mr.Found()
		b.mr.Release()
		b.p.maskBufs.Put(b.buf)
		log := b.p.cfg.Log
		// Logged, then counted.
		if found > 0 {
			log.WarnContext(b.logCtx, "proxy: masked the api's secret in an answer body", "api", b.api, "occurrences", found)
			b.p.answerOutcome(AnswerMasked)
		}
		if errors.Is(b.err, scrub.ErrDecodedTooLarge) {
			log.WarnContext(b.logCtx, "proxy: answer cut off", "api", b.api, "err", b.err)
			b.p.answerOutcome(AnswerDecodedTooLarge)
		}
	})
	return err
}

func (p *Proxy) answerOutcome(outcome string) {
	if o, ok := p.cfg.Observer.(AnswerObserver); ok {
		o.ProxyAnswer(outcome)
	}
}
