package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
)

// HTTP returns net/http middleware that lets through to next only requests
// with exactly one valid token header (see WithTokenHeader), bound as
// WithBindingHeader says, and signed when WithRequestSignatures says so. A
// refused request is answered 401 with Content-Type application/json and
// the body {"error":"token_invalid","message":TEXT} (or
// "request_signature_invalid"), TEXT never echoing the request.
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
		claims, err := v.verifyHTTP(r, m, toks[0], binding)
		if err != nil {
			m.rejectHTTP(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

// verifyHTTP verifies the token and, when m requires it, the request
// signature, leaving the body read in memory in r.Body.
func (v *Verifier) verifyHTTP(r *http.Request, m *middleware, tok string, binding []byte) (token.Claims, error) {
	if m.sigs == nil {
		return v.Verify(r.Context(), tok, binding)
	}
	out := v.verified.Get().(*token.Verified)
	defer v.verified.Put(out)
	// Verification only reads tok (see Verify).
	if err := v.VerifyInto(r.Context(), unsafe.Slice(unsafe.StringData(tok), len(tok)), binding, out); err != nil {
		return token.Claims{}, err
	}
	if !out.HasConfirmation { // refused before the body is read
		return token.Claims{}, ErrNotBound
	}
	body, err := readBody(r.Body, m.sigs.cfg.MaxBodyBytes)
	if err != nil {
		return token.Claims{}, err
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	msg := httpsig.ServerRequest(r, m.sigs.cfg.Authority)
	if err := v.checkSignature(r.Context(), m.sigs, &msg, body, out); err != nil {
		return token.Claims{}, err
	}
	return out.Claims(), nil
}

// errUnreadableBody: reading the body failed (400).
var errUnreadableBody = errors.New("backend: the request body could not be read")

// readBody reads all of body, refusing more than limit bytes.
func readBody(body io.Reader, limit int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return nil, errors.Join(errUnreadableBody, err)
	case int64(len(b)) > limit:
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

func (m *middleware) rejectHTTP(w http.ResponseWriter, err error) {
	status, body := m.rejected(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if status == http.StatusRequestEntityTooLarge || status == http.StatusBadRequest {
		h.Set("Connection", "close") // the rest of the body is not read
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// ClaimsFrom returns the claims the HTTP middleware verified for the request
// whose context ctx is.
func ClaimsFrom(ctx context.Context) (token.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(token.Claims)
	return c, ok
}
