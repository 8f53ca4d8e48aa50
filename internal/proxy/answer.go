package proxy

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
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

// searchable reports the content coding of resp's body that the proxy
// decodes ("gzip", "deflate"; "" for none or identity), or
// errUnsearchable.
func searchable(h http.Header) (string, error) {
	coding := ""
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(textproto.TrimString(c)); c {
			case "", "identity":
			case "gzip", "x-gzip", "deflate":
				if coding != "" {
					return "", fmt.Errorf("%w: more than one content coding", errUnsearchable)
				}
				coding = strings.TrimPrefix(c, "x-")
			default:
				return "", fmt.Errorf("%w: content coding %.32q", errUnsearchable, c)
			}
		}
	}
	return coding, nil
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
	coding, err := searchable(resp.Header)
	if err != nil {
		p.answerOutcome(AnswerUnsearchable)
		return apierr.Wrap(apierr.ErrBadGateway.WithMessage("the upstream's answer could not be searched for the secret"),
			fmt.Errorf("proxy: api %q: %w", api.Name, err))
	}
	sb := &scrubbedBody{p: p, api: api.Name, logCtx: in.logCtx,
		raw: newAnswerBody(resp.Body, cancel, p.cfg.BodyIdleTimeout)}
	var src io.Reader = sb.raw
	if coding != "" {
		src = &cappedReader{r: &decoder{coding: coding, src: sb.raw}, left: p.cfg.MaxDecodedBytes, err: errDecodedTooLarge}
		// The digests of RFC 9530 (and Content-MD5) are over the
		// encoded bytes: passed on with decoded ones, they would be
		// wrong.
		for _, h := range [...]string{"Content-Encoding", "Content-Length", "Content-Digest", "Repr-Digest", "Content-Md5"} {
			delete(resp.Header, h)
		}
		// A strong validator names the encoded bytes; the decoded ones
		// are the same resource, not the same bytes (RFC 9110 §8.8.1).
		if et := resp.Header.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
			resp.Header.Set("Etag", "W/"+et)
		}
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
		if errors.Is(b.err, errDecodedTooLarge) {
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

// decoder decodes a gzip or deflate body, opened on the first Read (a
// gzip header is read then, not while the answer's header is handled).
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
		err = fmt.Errorf("proxy: %s answer: %w", d.coding, err)
	}
	return n, err
}

func (d *decoder) open() error {
	var err error
	switch d.coding {
	case "gzip":
		d.r, err = gzip.NewReader(d.src)
	default:
		br := bufio.NewReaderSize(d.src, 512)
		head, _ := br.Peek(2)
		if len(head) == 2 && head[0]&0x0f == 8 && (uint(head[0])<<8|uint(head[1]))%31 == 0 {
			d.r, err = zlib.NewReader(br)
		} else {
			d.r = flate.NewReader(br)
		}
	}
	if err != nil {
		return fmt.Errorf("proxy: %s answer: %w", d.coding, err)
	}
	return nil
}
