package backend

import (
	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/token"
)

// Fasthttp is HTTP for fasthttp: next runs only for requests with a valid
// token, and finds the claims with ClaimsFromFasthttp. The claims are a copy
// (token.Claims holds its own strings): nothing kept refers to the
// RequestCtx, whose buffers are reused once the handler returns.
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

func (m *middleware) rejectFasthttp(ctx *fasthttp.RequestCtx, err error) {
	body := m.rejected(err)
	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusUnauthorized)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBodyString(body)
}

// ClaimsFromFasthttp returns the claims the Fasthttp middleware verified for
// the request of ctx.
func ClaimsFromFasthttp(ctx *fasthttp.RequestCtx) (token.Claims, bool) {
	c, ok := ctx.UserValue(claimsKey{}).(token.Claims)
	return c, ok
}
