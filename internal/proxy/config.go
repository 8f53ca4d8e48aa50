package proxy

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// Defaults of Config, filled in by New.
const (
	DefaultLeeway          = 30 * time.Second
	DefaultMaxBodyBytes    = 10 << 20
	DefaultMaxDecodedBytes = 64 << 20
	DefaultBodyIdleTimeout = 60 * time.Second
	DefaultStreamTimeout   = 10 * time.Minute
	DefaultIssuer          = "attestd"
)

// Prefix is the path prefix the proxy serves.
const Prefix = "/v1/proxy/"

// Endpoint is the endpoint name the proxy reports to its Observer (the
// value of api.EndpointProxy).
const Endpoint = "proxy"

// APIs finds a proxied API and its account by name; API names are unique in
// a deployment. *registry.Registry implements it.
type APIs interface {
	API(name string) (*registry.API, *registry.Account, bool, error)
}

// DebugTokens finds an app's debug token by name (PROTOCOL.md §11), so
// that a token made with one uses a secret only while that debug token is
// live and allows secrets. *registry.Registry implements it.
type DebugTokens interface {
	DebugTokenNamed(account, app, name string) (registry.DebugToken, bool, error)
}

// Observer learns the outcome of every proxied request (metrics); it has
// the method of api.Observer, so the same value serves both.
type Observer interface {
	Request(endpoint string, status int, code apierr.Code, d time.Duration)
}

// Config configures a Proxy. APIs is required; the zero value of every other
// field selects its default.
type Config struct {
	APIs APIs
	// DebugTokens, when set, lets tokens made with a debug token that
	// allows secrets through; nil refuses every token that carries dbg.
	DebugTokens DebugTokens
	// Issuer is the deployment's issuer name (default "attestd").
	Issuer string
	// Now is the clock tokens are checked at (default time.Now).
	Now func() time.Time
	// Leeway is the clock skew allowed on exp and iat (0: 30 s; negative:
	// none).
	Leeway time.Duration
	// Client sends the upstream requests (default NewHTTPClient()). Its
	// redirects are never followed (a 3xx answer comes back as it is) and
	// its cookie jar is not used. Its Timeout, if any, covers the whole
	// answer, body included: leave it 0 and bound the wait with the
	// transport's ResponseHeaderTimeout.
	Client *http.Client
	// MaxBodyBytes caps a request body (default 10 MiB); a longer one is
	// answered 413 body_too_large. The body is streamed, never buffered
	// whole.
	MaxBodyBytes int64
	// MaxDecodedBytes caps the decoded body of an answer the upstream
	// compressed (gzip or deflate, although asked for identity), which the
	// proxy decodes to search it for the secret (default 64 MiB): past it
	// the answer is cut off (a decompression bomb costs no more).
	MaxDecodedBytes int64
	// BodyIdleTimeout ends an answer whose upstream sends nothing for this
	// long (default 60 s).
	BodyIdleTimeout time.Duration
	// StreamTimeout is the read (request body) and write (answer) deadline
	// both adapters set for a proxied exchange, instead of the server's
	// shorter ones, so that large bodies and answers can stream (default
	// 10 min). It is granted only once the request has named an API and
	// passed the checks that precede its body (method, path rules, token,
	// declared length): until then the server's deadlines hold.
	StreamTimeout time.Duration
	// Admit, when set, takes a place among the node's proxied requests in
	// flight for each proxied request, before anything of it is checked or
	// its body read (*limit.Limiter's AdmitProxied: a pool apart from the
	// API's, since a proxied request may hold its place for the stream
	// timeout). Its error (overloaded, with Retry-After) is the answer. The place is held until the upstream's answer header has
	// arrived or the request was refused; the answer's body then streams
	// under the stream timeout. Nil: every request is admitted.
	Admit func() (release func(), err error)
	// AdmitDevice, when set, takes a place among the proxied requests in
	// flight of the token's device, account and did (*limit.Limiter's
	// AdmitDevice: ProxyMaxInFlightPerDevice), once the token has verified
	// and its declared length passed, before the stream timeout is granted
	// or the body read: so that one token cannot take every place of
	// Admit's pool. Its error (rate_limited, or overloaded, with
	// Retry-After) is the answer, and nothing is forwarded. The place is
	// released with Admit's. Nil: no per-device bound.
	AdmitDevice func(account string, device []byte) (release func(), err error)
	// SignatureWindow is how far a request signature's created may be
	// from now, either way, for APIs with require_signature (default 60 s,
	// PROTOCOL.md §12).
	SignatureWindow time.Duration
	// Replay remembers the request signatures this node accepted until
	// they leave the window (default: a backend.MemoryReplayCache of
	// backend.DefaultReplayCapacity entries: the replay window is per
	// node).
	Replay backend.ReplayCache
	// Authority is the @authority apps sign when they address the edge
	// (its public host[:port]); empty: each request's Host, without the
	// default port of its scheme. Set it when a load balancer in front of
	// the node rewrites Host.
	Authority string
	Observer  Observer
	Log       *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.APIs == nil {
		return c, errors.New("proxy: Config.APIs is required")
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.Client == nil {
		c.Client = NewHTTPClient()
	}
	// A copy: the caller's client is not modified.
	cl := *c.Client
	cl.Jar = nil
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Client = &cl
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxDecodedBytes <= 0 {
		c.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if c.BodyIdleTimeout <= 0 {
		c.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if c.StreamTimeout <= 0 {
		c.StreamTimeout = DefaultStreamTimeout
	}
	if c.Admit == nil {
		c.Admit = admitAll
	}
	if c.AdmitDevice == nil {
		c.AdmitDevice = func(string, []byte) (func(), error) { return admitAll() }
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.SignatureWindow <= 0 {
		c.SignatureWindow = httpsig.DefaultWindow
	}
	if c.Replay == nil {
		c.Replay = backend.NewMemoryReplayCache(0)
	}
	c.Authority = httpsig.Authority(c.Authority, "")
	return c, nil
}

// NewHTTPClient returns the default upstream client: connections reused
// (up to 64 idle per upstream host), dial and TLS handshake bounded to
// 5 s, 30 s to the answer's header, HTTP/2 when the upstream offers it, no
// transparent decompression (the proxy asks for identity and decodes a
// gzip or deflate answer itself, to search it), no proxy from
// the environment, no overall timeout (answers stream).
func NewHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  30 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}}
}

// admitAll is Config.Admit's default: every request is admitted.
func admitAll() (func(), error) { return func() {}, nil }
