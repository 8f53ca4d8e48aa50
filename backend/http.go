package backend

import (
	"context"
	"net/http"

	"github.com/attestd/attestd/crypto/token"
)

// HTTP returns net/http middleware that lets through to next only requests
// with exactly one valid token header (see WithTokenHeader), bound as
// WithBindingHeader says. A refused request is answered 401 with
// Content-Type application/json and the body
// {"error":"token_invalid","message":TEXT}, TEXT never echoing the token.
// next finds the claims with ClaimsFrom(r.Context()).
func (v *Verifier) HTTP(next http.Handler, opts ...MiddlewareOption) http.Handler {
	m := newMiddleware(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toks := r.Header[m.tokenHeader]
		if len(toks) != 1 || toks[0] == "" {
			m.rejectHTTP(w, ErrNoToken)
			return
		}
		var binding []byte
		if m.bindingHeader != "" {
			if vals := r.Header[m.bindingHeader]; len(vals) == 1 {
				binding = []byte(vals[0])
			}
		}
		claims, err := v.Verify(r.Context(), toks[0], binding)
		if err != nil {
			m.rejectHTTP(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

func (m *middleware) rejectHTTP(w http.ResponseWriter, err error) {
	body := m.rejected(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(body))
}

// ClaimsFrom returns the claims the HTTP middleware verified for the request
// whose context ctx is.
func ClaimsFrom(ctx context.Context) (token.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(token.Claims)
	return c, ok
}
