// Package api routes the public endpoints of PROTOCOL.md §1-3 (challenge,
// attest, JWKS) independently of the transport: the fasthttp and HTTP/3
// adapters fill a Request with bytes copied from their own request, call
// Serve, and write the Response. Errors become the bodies of PROTOCOL.md
// here, through apierr, and nowhere else.
//
// Only packages of this module import it. A *Handler is safe for
// concurrent use; a Request and Response belong to one call.
package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
)

// Endpoint names, used as metric labels.
const (
	EndpointChallenge = "challenge"
	EndpointAttest    = "attest"
	EndpointJWKS      = "jwks"
	EndpointProxy     = "proxy"
	EndpointOther     = "other"
)

// Request is one request as a transport received it. The slices are only
// read during Serve.
type Request struct {
	Method []byte
	// Path is the path of the request target exactly as the client sent
	// it (TargetPath of the request line's target): still percent-encoded,
	// dot segments and doubled slashes untouched, without the query. A
	// transport's normalised path must never be passed here: the router
	// matches these bytes exactly.
	Path        []byte
	ContentType []byte
	// Signature is the Attest-Signature header, nil when absent.
	Signature []byte
	Body      []byte
	// TooLarge: the transport stopped reading the body past the limit.
	TooLarge bool
	// RemoteIP is the client's address (rate limits of challenges); an
	// adapter may leave it out where Handler.ReadsRemoteIP says so.
	RemoteIP netip.Addr
}

// Response is what to answer. Body is appended to (reuse it across calls).
type Response struct {
	Status       int
	Body         []byte
	RetryAfter   int
	Allow        string
	CacheControl string
	Endpoint     string
	// Code is the public error code, "" on success.
	Code apierr.Code
}

// Reset prepares a Response for reuse, keeping Body's capacity.
func (r *Response) Reset() {
	*r = Response{Body: r.Body[:0]}
}

// Observer learns the outcome of every request (metrics).
type Observer interface {
	Request(endpoint string, status int, code apierr.Code, d time.Duration)
}

// Accounts is what the JWKS endpoint reads.
type Accounts interface {
	Account(id string) (*registry.Account, bool, error)
}

// Limits bound the work a node accepts (internal/limit implements it): a
// bound on requests in flight, and the challenge rate per client IP. Both
// answer before any expensive work.
type Limits interface {
	AdmitRequest() (release func(), err error)
	AllowChallenge(ip netip.Addr, now time.Time) error
}

// Config configures a Handler.
type Config struct {
	Edge     *attest.Edge
	Accounts Accounts
	// JWKSMaxAge is the Cache-Control max-age of JWKS answers (default 300 s).
	JWKSMaxAge time.Duration
	Observer   Observer
	// Limits, when set, sheds load before any work.
	Limits Limits
	Log    *slog.Logger
	Now    func() time.Time
}

// Handler serves the endpoints.
type Handler struct {
	cfg          Config
	jwksCacheCtl string
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = 300 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, jwksCacheCtl: "public, max-age=" + strconv.Itoa(int(cfg.JWKSMaxAge/time.Second))}
}

// Serve answers one request.
func (h *Handler) Serve(ctx context.Context, req *Request, resp *Response) {
	start := since()
	var err error
	rt, account := match(req.Path)
	resp.Endpoint = endpointNames[rt]
	if h.cfg.Limits != nil {
		release, lerr := h.cfg.Limits.AdmitRequest()
		if lerr != nil {
			h.fail(ctx, resp, lerr)
			h.observe(resp, start)
			return
		}
		defer release()
	}
	switch rt {
	case routeChallenge:
		if err = allow(req, resp, "POST"); err == nil {
			err = h.challenge(ctx, req, resp)
		}
	case routeAttest:
		if err = allow(req, resp, "POST"); err == nil {
			resp.Body, err = h.cfg.Edge.AppendAttest(ctx, resp.Body[:0], attest.Input{
				ContentType: req.ContentType, Body: req.Body, Signature: req.Signature, TooLarge: req.TooLarge,
			})
		}
	case routeJWKS:
		if err = allow(req, resp, "GET"); err == nil {
			err = h.jwks(account, resp)
		}
	default:
		err = apierr.ErrNotFound
	}
	if err != nil {
		h.fail(ctx, resp, err)
	} else {
		resp.Status = 200
	}
	h.observe(resp, start)
}

func (h *Handler) observe(resp *Response, start time.Duration) {
	if h.cfg.Observer != nil {
		h.cfg.Observer.Request(resp.Endpoint, resp.Status, resp.Code, since()-start)
	}
}

// epoch and since time requests on the monotonic clock alone: a
// duration needs no wall-clock reading (time.Now makes both), nor the
// configured clock, which is for what expires.
var epoch = time.Now()

func since() time.Duration { return time.Since(epoch) }

// ReadsSignature reports whether a request to path (Request.Path) reads
// its Attest-Signature header (adapters need not look it up for others).
func ReadsSignature(path []byte) bool {
	rt, _ := match(path)
	return rt == routeAttest
}

// ReadsRemoteIP reports whether h reads Request.RemoteIP of a request to
// path (only the challenge rate limit does).
func (h *Handler) ReadsRemoteIP(path []byte) bool {
	if h.cfg.Limits == nil {
		return false
	}
	rt, _ := match(path)
	return rt == routeChallenge
}

// endpointOf names the endpoint path names exactly (a metric label, for
// requests refused before Serve).
func endpointOf(path []byte) string {
	rt, _ := match(path)
	return endpointNames[rt]
}

// endpointNames names each route's endpoint (a metric label).
var endpointNames = [...]string{
	routeNone:      EndpointOther,
	routeChallenge: EndpointChallenge,
	routeAttest:    EndpointAttest,
	routeJWKS:      EndpointJWKS,
}

// Fail answers err (for adapters that fail before Serve, e.g. a body over
// the limit).
func (h *Handler) Fail(resp *Response, err error) { h.fail(context.Background(), resp, err) }

// fail answers err; ctx is the request's, whose request id an internal
// error's log line carries.
func (h *Handler) fail(ctx context.Context, resp *Response, err error) {
	pub, ok := err.(*apierr.Error) // a sentinel as is: no errors.As, no allocation
	if !ok {
		pub = apierr.From(err)
	}
	if pub.Code == apierr.Internal {
		// The cause may name records; it is logged, never answered. No
		// cause of this edge carries secret material (secret.Value).
		h.cfg.Log.ErrorContext(ctx, "request failed", "endpoint", resp.Endpoint, "err", err)
	}
	resp.Status, resp.Code, resp.RetryAfter = pub.Status, pub.Code, pub.RetryAfter
	resp.Body = pub.AppendBody(resp.Body[:0])
	resp.CacheControl = "no-store"
}

func allow(req *Request, resp *Response, method string) error {
	if string(req.Method) == method || (method == "GET" && string(req.Method) == "HEAD") {
		return nil
	}
	resp.Allow = method
	return apierr.ErrMethodNotAllowed
}

// challenge answers §1: the body is empty or a JSON object (`{}`).
func (h *Handler) challenge(ctx context.Context, req *Request, resp *Response) error {
	if req.TooLarge || len(req.Body) > attest.MaxBodyBytes {
		if len(req.ContentType) > 0 && !attest.IsJSON(req.ContentType) {
			return apierr.ErrMediaType
		}
		return apierr.ErrBodyTooLarge
	}
	if h.cfg.Limits != nil {
		if err := h.cfg.Limits.AllowChallenge(req.RemoteIP, h.cfg.Now()); err != nil {
			return err
		}
	}
	if len(bytes.TrimSpace(req.Body)) > 0 {
		if !attest.IsJSON(req.ContentType) {
			return apierr.ErrMediaType
		}
		if !attest.IsJSONObject(req.Body) {
			return apierr.ErrBadRequest.WithMessage("the body must be empty or a JSON object")
		}
	}
	var err error
	resp.Body, err = h.cfg.Edge.AppendChallenge(ctx, resp.Body[:0])
	resp.CacheControl = "no-store"
	return err
}

// jwks answers GET /v1/accounts/{account}/jwks.json (§3); seg is the
// account segment as sent. A segment no account id can be is not_found
// without a lookup.
func (h *Handler) jwks(seg []byte, resp *Response) error {
	var buf [model.MaxIDLen]byte
	id, ok := accountID(seg, &buf)
	if !ok {
		return apierr.ErrNotFound
	}
	acct, ok, err := h.cfg.Accounts.Account(string(id))
	if err != nil {
		return err
	}
	if !ok {
		return apierr.ErrNotFound
	}
	resp.Body = append(resp.Body[:0], acct.JWKS...)
	resp.CacheControl = h.jwksCacheCtl
	return nil
}
