package backend

import (
	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/token"
)

// Fasthttp is HTTP for fasthttp: next runs only for requests with a valid
// token (and signature, with WithRequestSignatures), and finds the claims
// with ClaimsFromFasthttp. The claims are a copy (token.Claims holds its
// own strings): nothing kept refers to the RequestCtx, whose buffers are
// reused once the handler returns.
func (v *Verifier) Fasthttp(next fasthttp.RequestHandler, opts ...MiddlewareOption) fasthttp.RequestHandler {
	m := newMiddleware(opts)
	return func(ctx *fasthttp.RequestCtx) {
		// PeekAll reuses one slice per request header: take the token out
		// of it before peeking again.
		toks := ctx.Request.Header.PeekAll(m.tokenHeader)
		if len(toks) != 1 || len(toks[0]) == 0 {
			m.rejectFasthttp(ctx, ErrNoToken)
			return
		}
		tok := toks[0]
		var binding []byte
		if m.bindingHeader != "" {
			if vals := ctx.Request.Header.PeekAll(m.bindingHeader); len(vals) == 1 {
				binding = vals[0]
			}
		}
		out := v.verified.Get().(*token.Verified)
		err := v.VerifyInto(ctx, tok, binding, out)
		if err == nil && m.sigs != nil {
			err = v.checkFasthttp(ctx, m.sigs, out)
		}
		if err == nil {
			ctx.SetUserValue(claimsKey{}, out.Claims())
		}
		v.verified.Put(out)
		if err != nil {
			m.rejectFasthttp(ctx, err)
			return
		}
		next(ctx)
	}
}

// checkFasthttp checks the request signature of ctx, the token verified
// into out. A streamed body (Server.StreamRequestBody) is read, up to the
// limit, into the request, where next finds it.
func (v *Verifier) checkFasthttp(ctx *fasthttp.RequestCtx, s *Signatures, out *token.Verified) error {
	if !out.HasConfirmation { // refused before the body is read
		return ErrNotBound
	}
	if stream := ctx.RequestBodyStream(); stream != nil {
		b, err := readBody(stream, s.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		ctx.Request.SetBodyStream(nil, 0)
		ctx.Request.SetBody(b)
	}
	body := ctx.Request.Body()
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return ErrBodyTooLarge
	}
	msg := fasthttpRequest{ctx: ctx, authority: s.cfg.Authority}
	return v.checkSignature(ctx, s, &msg, body, out)
}

func (m *middleware) rejectFasthttp(ctx *fasthttp.RequestCtx, err error) {
	status, body := m.rejected(err)
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	if status == fasthttp.StatusRequestEntityTooLarge || status == fasthttp.StatusBadRequest {
		ctx.SetConnectionClose()
	}
	ctx.SetBodyString(body)
}

// ClaimsFromFasthttp returns the claims the Fasthttp middleware verified for
// the request of ctx.
func ClaimsFromFasthttp(ctx *fasthttp.RequestCtx) (token.Claims, bool) {
	c, ok := ctx.UserValue(claimsKey{}).(token.Claims)
	return c, ok
}
