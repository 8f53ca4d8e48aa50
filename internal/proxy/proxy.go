package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/attestd/attestd/client/scrub"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// Proxy serves PROTOCOL.md §6. Build it with New.
type Proxy struct {
	cfg      Config
	verified sync.Pool // of *token.Verified
	scratch  sync.Pool // of *httpsig.Scratch
	maskBufs sync.Pool // of *[]byte, maskBufSize long
}

// New returns a Proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg}
	p.verified.New = func() any { return new(token.Verified) }
	p.scratch.New = func() any { return new(httpsig.Scratch) }
	p.maskBufs.New = newMaskBuf
	return p, nil
}

// inbound is one request as an adapter received it, copied out of the
// transport's own request: the core owns header and may change it.
type inbound struct {
	method    string
	authority string // Host as @authority: lower case, without its scheme's default port
	path      string // escaped, beginning with Prefix
	query     string // raw, without '?'
	header    http.Header
	body      io.Reader       // nil: no body
	length    int64           // Content-Length; -1 unknown
	logCtx    context.Context // what log lines about the request are made with
	// extend grants the exchange the proxy's stream deadlines (reading
	// the body, writing the answer) from now on; forward calls it once
	// the checks before the body have passed. Nil: nothing to extend.
	extend func(time.Duration)
}

// admitForward admits in (Config.Admit) before anything of it is read,
// then forwards it; the place is released when forward returns: the
// body has been sent upstream (or cut) and the answer's header has
// arrived, or the request was refused.
func (p *Proxy) admitForward(ctx context.Context, cancel context.CancelFunc, in *inbound) (*http.Response, error) {
	release, err := p.cfg.Admit()
	if err != nil {
		return nil, err
	}
	defer release()
	return p.forward(ctx, cancel, in)
}

// forward verifies in and sends it upstream. On success the caller streams
// and closes the answer's Body, which Close (or an upstream idle for
// BodyIdleTimeout) ends by calling cancel, the CancelFunc of ctx. Errors
// classify with apierr.
//
// The order of the checks: the method, then the path rules (pure and
// public: they cost no lookup and no signature check, and a refusal says
// nothing the protocol does not), then the API's name, then the token,
// then the body's declared length, then the device's share of the places
// in flight (Config.AdmitDevice), then, for an API with
// require_signature, the request signature (signature.go). Whichever
// refuses, nothing is forwarded. Only once the checks before the body
// have passed does the exchange get the stream timeout (in.extend): a
// request that names no API, or has no valid token, keeps the server's
// read deadline, whatever it sends. The answer's headers are scrubbed of the
// API's secret (PROTOCOL.md §6, 1.1) before either adapter sees them, and
// its body is masked as it streams (answer.go).
func (p *Proxy) forward(ctx context.Context, cancel context.CancelFunc, in *inbound) (*http.Response, error) {
	if in.method == http.MethodConnect || in.method == http.MethodTrace {
		// TRACE would echo the injected secret back to the client.
		return nil, apierr.ErrMethodNotAllowed
	}
	name, rest, err := splitPath(in.path)
	if err != nil {
		return nil, err
	}
	api, acct, ok, err := p.cfg.APIs.API(name)
	switch {
	case errors.Is(err, registry.ErrNotReady):
		return nil, apierr.Wrap(apierr.ErrOverloaded, err)
	case err != nil:
		return nil, fmt.Errorf("proxy: api %q: %w", name, err)
	case !ok:
		return nil, apierr.ErrNotFound
	}
	v := p.verified.Get().(*token.Verified)
	defer p.verified.Put(v)
	if err := p.verify(api, acct, in.header, v); err != nil {
		return nil, apierr.Wrap(apierr.ErrTokenInvalid, fmt.Errorf("proxy: api %q: %w", name, err))
	}
	if in.length > p.cfg.MaxBodyBytes {
		return nil, p.tooLarge()
	}
	// An API that requires signatures: the signature over the headers
	// first, so that a bound token without its device key takes no place
	// and no stream timeout and has no body read.
	var signed *signedCheck
	if requiresSignature(api) {
		if signed, err = p.signatureHeaders(ctx, in, v); err != nil {
			return nil, fmt.Errorf("proxy: api %q: %w", name, err)
		}
		defer p.done(signed)
	}
	// The device's share of the places in flight (Config.AdmitDevice),
	// held from here for as long as the pool's place (admitForward):
	// both are given back when forward returns.
	releaseDevice, err := p.cfg.AdmitDevice(api.Account, v.Device)
	if err != nil {
		return nil, err
	}
	defer releaseDevice()
	if in.extend != nil {
		in.extend(p.cfg.StreamTimeout)
	}
	if signed != nil {
		if err := p.signedBody(in, signed); err != nil {
			return nil, fmt.Errorf("proxy: api %q: %w", name, err)
		}
	}
	u, err := target(api, rest, in.query)
	if err != nil {
		return nil, err
	}
	out, err := p.outbound(ctx, in, api, u)
	if err != nil {
		return nil, err
	}
	resp, err := p.cfg.Client.Do(out)
	if err != nil {
		return nil, p.upstreamError(api.Name, err)
	}
	p.scrub(in, api, resp)
	if err := p.scrubBody(in, api, resp, cancel); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// scrub removes from the answer every header that holds the API's secret
// (PROTOCOL.md §6, 1.1); a redirect that held it loses its body too
// (scrub.Answer). Other bodies are masked by scrubBody.
func (p *Proxy) scrub(in *inbound, api *registry.API, resp *http.Response) {
	if n := scrub.Answer(resp, scrub.New(api.Secret.Reveal())); n > 0 {
		p.cfg.Log.WarnContext(in.logCtx, "proxy: removed answer headers that held the api's secret", "api", api.Name, "removed", n)
	}
}

// outbound builds the upstream request: headers minus Attest-Token and the
// hop-by-hop ones, the secret injected, the body capped.
func (p *Proxy) outbound(ctx context.Context, in *inbound, api *registry.API, u *url.URL) (*http.Request, error) {
	h := in.header
	removeHopByHop(h)
	delete(h, TokenHeader)
	dropSignature(h)
	delete(h, "Host")
	delete(h, "Content-Length")
	// The answer's body is searched for the secret: it must come as it is
	// (scrubBody decodes gzip and deflate, and refuses other codings).
	h["Accept-Encoding"] = []string{"identity"}
	// Whole answers only: a secret cut across two ranges (bytes=0-99,
	// then 100-) would be masked in neither.
	delete(h, "Range")
	delete(h, "If-Range")
	if api.Header != "" {
		h.Del(api.Header)
		h.Set(api.Header, string(api.Secret.Reveal()))
	}
	var body io.Reader = http.NoBody
	length := int64(0)
	if in.body != nil && in.length != 0 {
		body, length = scrub.Capped(in.body, p.cfg.MaxBodyBytes, errBodyTooLarge), in.length
	}
	out, err := http.NewRequestWithContext(ctx, in.method, "http://placeholder/", body)
	if err != nil {
		return nil, apierr.Wrap(apierr.ErrBadRequest.WithMessage("malformed method"), err)
	}
	out.URL, out.Host, out.Header, out.ContentLength = u, u.Host, h, length
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // send none rather than Go's
	}
	return out, nil
}

func (p *Proxy) tooLarge() error {
	return apierr.ErrBodyTooLarge.WithMessage(fmt.Sprintf("the body is over %d bytes", p.cfg.MaxBodyBytes))
}

// upstreamError classifies a failed upstream exchange. The cause is logged
// without the request URL, which may carry the injected secret.
func (p *Proxy) upstreamError(api string, err error) error {
	if errors.Is(err, errBodyTooLarge) {
		return p.tooLarge()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := "the upstream could not be reached"
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		msg = "the upstream did not answer in time"
	}
	return apierr.Wrap(apierr.ErrBadGateway.WithMessage(msg), fmt.Errorf("proxy: api %q: %w", api, err))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// observe reports one request to the Observer.
func (p *Proxy) observe(start time.Time, status int, code apierr.Code) {
	if p.cfg.Observer != nil {
		p.cfg.Observer.Request(Endpoint, status, code, p.cfg.Now().Sub(start))
	}
}

// failure maps err to the public error, logging what is not the client's
// doing with the request's context (which carries its request id).
func (p *Proxy) failure(ctx context.Context, err error) *apierr.Error {
	pub := apierr.From(err)
	switch pub.Code {
	case apierr.Internal:
		p.cfg.Log.ErrorContext(ctx, "proxy: request failed", "err", err)
	case apierr.BadGateway:
		p.cfg.Log.WarnContext(ctx, "proxy: upstream failed", "err", err)
	case apierr.TokenInvalid:
		p.cfg.Log.DebugContext(ctx, "proxy: token refused", "err", err)
	case apierr.RequestSignatureInvalid:
		p.cfg.Log.DebugContext(ctx, "proxy: request signature refused", "err", err)
	}
	return pub
}
