package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/internal/apierr"
)

// HandleFasthttp serves ctx when its path as sent begins with Prefix and
// reports whether it did: the shape of fastapi.Config.Extra. The decision
// is made on the path as sent, never on fasthttp's normalised one (which
// has decoded it and resolved its dot segments).
func (p *Proxy) HandleFasthttp(ctx *fasthttp.RequestCtx) bool {
	if !bytes.HasPrefix(ctx.URI().PathOriginal(), []byte(Prefix)) {
		return false
	}
	p.Fasthttp(ctx)
	return true
}

// Fasthttp serves the proxy over fasthttp. The request is admitted
// (Config.Admit) before its body is read, and its connection keeps the
// server's deadlines until forward grants the stream timeout. Everything it needs of ctx is
// copied out, and the request body is read through a reader cut off when
// Fasthttp returns, so nothing of ctx is used afterwards; the answer's body
// streams from the upstream with ctx.SetBodyStream. The server should set
// StreamRequestBody, so that bodies up to Config.MaxBodyBytes stream
// instead of being refused or buffered by fasthttp.
func (p *Proxy) Fasthttp(ctx *fasthttp.RequestCtx) {
	start := p.cfg.Now()
	uri := ctx.URI()
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	in := &inbound{
		method:    string(ctx.Method()),
		authority: httpsig.Authority(string(ctx.Host()), scheme),
		// As sent (of an absolute-form target too), never uri.Path(),
		// which fasthttp has decoded and normalised.
		path:   string(uri.PathOriginal()),
		query:  string(uri.QueryString()),
		header: make(http.Header, 16),
		length: int64(ctx.Request.Header.ContentLength()),
		logCtx: ctx,
		extend: func(d time.Duration) {
			// Wall-clock times, whatever clock tokens are checked at.
			t := time.Now().Add(d)
			_ = ctx.SetReadDeadline(t)
			_ = ctx.SetWriteDeadline(t)
		},
	}
	for k, v := range ctx.Request.Header.All() {
		key := http.CanonicalHeaderKey(string(k))
		in.header[key] = append(in.header[key], string(v))
	}
	var d *detachable
	switch s := ctx.RequestBodyStream(); {
	case s != nil:
		d = &detachable{r: s}
	case len(ctx.Request.Body()) > 0:
		d = &detachable{r: bytes.NewReader(ctx.Request.Body())}
		in.length = int64(len(ctx.Request.Body()))
	}
	if d != nil {
		defer d.Detach()
		in.body = d
	}
	if in.length < 0 {
		in.length = -1 // chunked (-1) or identity until close (-2): unknown
		if in.body == nil {
			in.length = 0
		}
	}
	uctx, cancel := context.WithCancel(context.Background())
	resp, err := p.admitForward(uctx, cancel, in)
	if err != nil {
		cancel()
		pub := p.failure(ctx, err)
		writeErrorFasthttp(ctx, pub)
		switch {
		case d == nil:
		case pub.Code == apierr.Overloaded:
			// Shedding must stay cheap: no lingering over the body of a
			// request refused for load; the connection closes instead.
			ctx.SetConnectionClose()
		default:
			p.linger(ctx, d)
		}
		p.observe(start, pub.Status, pub.Code)
		return
	}
	h := http.Header{}
	copyHeader(h, resp.Header)
	delete(h, "Content-Length")
	for k, vs := range h {
		for _, v := range vs {
			ctx.Response.Header.Add(k, v)
		}
	}
	ctx.SetStatusCode(resp.StatusCode)
	size := int(resp.ContentLength)
	if resp.ContentLength < 0 || int64(size) != resp.ContentLength {
		size = -1
	}
	// fasthttp reads and closes the body after Fasthttp returns (and
	// skips it for HEAD); Close cancels the upstream exchange.
	ctx.SetBodyStream(resp.Body, size)
	p.observe(start, resp.StatusCode, "")
}

// linger reads and discards what is left of a refused request's body (up
// to the cap and for at most lingerTime), so that the client, still
// sending, reads the answer instead of a connection reset; past that, the
// connection closes after the answer.
func (p *Proxy) linger(ctx *fasthttp.RequestCtx, d *detachable) {
	_ = ctx.SetReadDeadline(time.Now().Add(lingerTime))
	n, err := io.CopyN(io.Discard, d, p.cfg.MaxBodyBytes+1)
	if err != io.EOF || n > p.cfg.MaxBodyBytes {
		ctx.SetConnectionClose()
	}
}

// lingerTime bounds linger.
const lingerTime = 2 * time.Second

func writeErrorFasthttp(ctx *fasthttp.RequestCtx, pub *apierr.Error) {
	ctx.Response.Reset()
	ctx.SetStatusCode(pub.Status)
	h := &ctx.Response.Header
	h.SetContentType("application/json")
	h.Set("Cache-Control", "no-store")
	if pub.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(pub.RetryAfter))
	}
	if pub.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	}
	ctx.SetBody(pub.AppendBody(nil))
}
