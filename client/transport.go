package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/client/scrub"
	"github.com/attestd/attestd/crypto/secret"
)

// The errors of the Transport; test with errors.Is.
var (
	// ErrPinMismatch: a host has pins and no certificate of the
	// connection's verified chain has a SubjectPublicKeyInfo whose SHA-256
	// is one of them. The connection is closed before any request is sent.
	ErrPinMismatch = errors.New("client: the server's certificate chain matches none of the host's pins")
	// ErrSecretUnavailable: a placeholder names a secret the latest
	// attestation did not release (unknown name, not assigned to the app,
	// or a failed verdict). The request is not sent.
	ErrSecretUnavailable = errors.New("client: secret not released to this app")
	// ErrSecretNotAllowed: a placeholder is in a request to a host its
	// secret is not allowed for (TransportConfig.SecretHosts), or in a
	// request that follows a redirect. The request is not sent.
	ErrSecretNotAllowed = errors.New("client: secret not allowed in this request")
	// ErrAnswerUnsearchable: the answer to a request a secret was filled
	// in has a Content-Encoding the Transport cannot decode (anything but
	// gzip, deflate and identity: br, zstd, two codings), so its body
	// cannot be searched for the secret. The answer is closed unread and
	// the round trip fails with it (wrapping scrub.ErrUnsearchable).
	ErrAnswerUnsearchable = errors.New("client: the answer's content coding cannot be searched for the secret")
	// ErrAnswerTooLarge: the compressed answer to a request a secret was
	// filled in decoded to more than TransportConfig.MaxDecodedAnswer
	// bytes; reading its body fails with it there (wrapping
	// scrub.ErrDecodedTooLarge).
	ErrAnswerTooLarge = errors.New("client: the decoded answer is over the limit")
)

// TokenHeader is the header the Transport sends the token in.
const TokenHeader = "Attest-Token"

// TransportConfig configures a Transport. Client is required.
type TransportConfig struct {
	// Client attests (with want_secrets) and opens the released secrets.
	// Do not make the Transport the Client's own HTTP transport.
	Client *Client
	// Base sends the requests (default: a clone of http.DefaultTransport).
	// An *http.Transport is cloned and the clone checks pins. Any other
	// RoundTripper (e.g. an HTTP/3 one) must check them itself: put
	// Transport.VerifyConnection in its tls.Config.
	Base http.RoundTripper
	// TokenHosts receive Attest-Token: host names (any port) or host:port
	// of the app's backends. The edge's own host:port (Client's BaseURL)
	// always does (its /v1/proxy/ needs it); no other host sees the token.
	TokenHosts []string
	// SecretHosts says where each secret may be filled in: secret name →
	// the hosts a placeholder of it is replaced for, each "host" (https,
	// any port), "host:port" (https, that port), or an origin
	// "https://host[:port]" or "http://host[:port]" (that scheme, that port
	// or the scheme's own; plain http only when written so). No wildcards. A secret listed with no host is filled in
	// nowhere. A secret not listed is filled in only in https requests to a
	// host the latest attestation pins (docs/protocol.md §5), whose connection
	// is checked against those pins. A placeholder anywhere else fails the
	// request with ErrSecretNotAllowed before anything is sent.
	SecretHosts map[string][]string
	// BindAuthorization sends, with a request that carries one
	// Authorization header, a token bound to that value (pay =
	// b64u(SHA-256(value))), attesting with it as binding when no such
	// token is cached. Requests without Authorization get an unbound token.
	BindAuthorization bool
	// Integrity is sent with every attestation.
	Integrity Integrity
	// MaxBound bounds how many bound tokens are kept (default 16).
	MaxBound int
	// ProofOfPossession attests with "pop": true, and signs every request
	// that carries the token (those to the token hosts) with the device
	// key when the token has cnf (docs/protocol.md §10, SignRequest), so that a
	// copied token is of no use without the device.
	ProofOfPossession bool
	// Now is the clock of request signatures' created (default: the
	// Client's).
	Now func() time.Time
	// MaxSignedBody bounds a body read into memory to be signed, for a
	// request without GetBody (default DefaultMaxSignedBody).
	MaxSignedBody int64
	// MaxDecodedAnswer bounds the decoded body of a gzip or deflate answer
	// to a request a secret was filled in, which the Transport decodes to
	// mask the secret in it (default scrub.DefaultMaxDecoded, 64 MiB):
	// reading past it fails with ErrAnswerTooLarge.
	MaxDecodedAnswer int64
}

// Transport is an http.RoundTripper for an app's outgoing requests (the
// quickstart experience): it keeps a fresh token (re-attesting before
// expiry), sends it as Attest-Token to the token hosts, replaces secret
// placeholders in header and query values with the released secrets (only
// for the hosts each secret is allowed for, never in a request that follows
// a redirect), and refuses TLS connections to a pinned host whose chain
// matches none of its pins (docs/protocol.md §4-5). Pins and secrets come from
// the latest attestation of the Client, whoever made it.
//
// A secret goes only where it is meant to: the answer to a request it was
// filled in has every header holding it removed (a redirect whose Location
// echoes the query, say, which the http.Client would otherwise follow with
// the secret in the URL), and a request the http.Client makes to follow a
// redirect (req.Response set) with a placeholder in it fails with
// ErrSecretNotAllowed. A client that follows redirects itself makes new
// requests: the hosts of SecretHosts are what protect those.
//
// Nor does the app's code see a secret in an answer body (an error page or
// a debug echo that repeats ?key=…, which the app would log): the body of
// the answer to a request secrets were filled in is read through a
// scrub.Masker of every one of them, which replaces each echo, as sent,
// percent-encoded or JSON-escaped (scrub.Forms), by a mask of the same
// length, as the bytes stream. Such a request is sent without Range and
// If-Range (whole answers only) and, unless the app set Accept-Encoding,
// with Accept-Encoding: identity; a gzip or deflate answer is decoded
// (MaxDecodedAnswer) and handed back decoded (Uncompressed set), and one in
// any other coding fails the round trip with ErrAnswerUnsearchable. Other
// encodings of a secret (base64, another letter case) are not searched.
// Trailers are scrubbed once the body has been read to its end. A 101's
// connection has its headers scrubbed but is not masked (masking holds
// back what could begin a secret until more comes, which would stall a
// protocol waiting on its last message). The answer to a request no
// secret was filled in is handed back as it came.
//
// When pins change, every TLS connection the Transport made (HTTP/1.1 or
// HTTP/2, idle or busy) is checked against the new pins, and closed at once
// if it no longer matches them, aborting what is in flight on it; idle
// connections are closed too. This holds for a Base that is nil or an
// *http.Transport, for the connections it dials itself (not those through
// an HTTP proxy, which are closed only when idle); any other Base gets only
// CloseIdleConnections.
//
// With ProofOfPossession, the token is bound to the device key (cnf) and
// every request that carries it is signed with that key (RFC 9421,
// docs/protocol.md §10; see SignRequest), after placeholders are filled in and
// the token set, so that the signature covers what is sent.
//
// Every request waits for a first attestation (so pins apply from the first
// connection on), and every request keeps the token fresh, so pins and
// secrets follow the edge at the token's pace. Only a request to a token
// host or with a placeholder fails when the edge cannot be reached; others
// go on with the last pins (and try the edge again after 10 s).
//
// A Transport is safe for concurrent use. It never modifies the request it
// is given.
type Transport struct {
	cfg      TransportConfig
	c        *Client
	base     http.RoundTripper
	idle     interface{ CloseIdleConnections() }
	edgeHost string
	edgePath string // BaseURL's path, without a trailing '/'
	hosts    map[string]bool
	pins     pinner

	secretHosts secretHosts

	tokens *tokenCache // by bindingKey; "" unbound

	failedAt atomic.Int64 // Unix ns of the last failed attestation; 0 after a success

	lmu     sync.Mutex
	learned *Result                                 // latest result applied
	secrets atomic.Pointer[map[string]secret.Value] // released by it
}

// NewTransport returns a Transport for cfg.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.Client == nil {
		return nil, errors.New("client: TransportConfig.Client is required")
	}
	if cfg.MaxBound <= 0 {
		cfg.MaxBound = 16
	}
	if cfg.MaxDecodedAnswer <= 0 {
		cfg.MaxDecodedAnswer = scrub.DefaultMaxDecoded
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Client.cfg.Now
	}
	u, err := url.Parse(cfg.Client.cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	sh, err := parseSecretHosts(cfg.SecretHosts)
	if err != nil {
		return nil, err
	}
	t := &Transport{cfg: cfg, c: cfg.Client, edgeHost: strings.ToLower(u.Host), edgePath: strings.TrimRight(u.Path, "/"),
		hosts: map[string]bool{}, secretHosts: sh, tokens: newTokenCache(cfg.Client.cfg.Now, cfg.Client.cfg.RefreshBefore, cfg.MaxBound)}
	t.hosts[t.edgeHost] = true
	for _, h := range cfg.TokenHosts {
		t.hosts[strings.ToLower(h)] = true
	}
	switch b := cfg.Base.(type) {
	case nil:
		tr := http.DefaultTransport.(*http.Transport).Clone()
		t.pins.install(tr)
		t.base, t.idle = tr, tr
	case *http.Transport:
		tr := b.Clone()
		t.pins.install(tr)
		t.base, t.idle = tr, tr
	default:
		t.base = b
		t.idle, _ = b.(interface{ CloseIdleConnections() })
	}
	empty := map[string]secret.Value{}
	t.secrets.Store(&empty)
	return t, nil
}

// VerifyConnection returns a tls.Config.VerifyConnection that checks the
// pins of host, for a Base that is not an *http.Transport.
func (t *Transport) VerifyConnection(host string) func(tls.ConnectionState) error {
	return t.pins.verifier(host, nil)
}

// Pins returns the pins in force (from the latest attestation).
func (t *Transport) Pins() map[string][]string { return t.pins.pins() }

// Invalidate drops the cached tokens: the next request attests again (and
// so picks up new pins and secrets).
func (t *Transport) Invalidate() { t.tokens.dropAll() }

// CloseIdleConnections closes the base transport's idle connections.
func (t *Transport) CloseIdleConnections() {
	if t.idle != nil {
		t.idle.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.isAttestCall(req) {
		return t.base.RoundTrip(req)
	}
	placeholders := hasPlaceholder(req.Header, req.URL.RawQuery)
	if placeholders && req.Response != nil {
		// The http.Client follows a redirect with the first request's
		// headers: whoever sent the redirect chose where they go.
		return nil, closeBody(req, fmt.Errorf("%w: the request follows a redirect (to %s)", ErrSecretNotAllowed, req.URL.Host))
	}
	if cur := t.c.latest(); cur != nil {
		t.learn(cur, false)
	}
	toHost := t.hosts[strings.ToLower(req.URL.Host)] || t.hosts[strings.ToLower(req.URL.Hostname())]
	// Only a token host or a placeholder needs this attestation to
	// succeed; any other request needs one success ever (for the pins) and
	// otherwise only keeps the pins fresh, going on with the last ones
	// while the edge cannot be reached.
	needed := toHost || placeholders || !t.hasLearned()
	if !needed && t.backingOff() {
		return t.base.RoundTrip(req)
	}
	binding, err := t.binding(req, toHost)
	if err != nil {
		return nil, closeBody(req, err)
	}
	res, err := t.token(req.Context(), binding)
	if err != nil {
		if needed {
			return nil, closeBody(req, err)
		}
		return t.base.RoundTrip(req)
	}
	out, filled := req, [][]byte(nil)
	if placeholders || toHost {
		if out, filled, err = t.rewrite(req, res, toHost); err != nil {
			return nil, closeBody(req, err)
		}
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if toHost && resp.StatusCode == http.StatusUnauthorized {
		// The token was refused (expired early, key rotated, a failed
		// verdict): attest again for the next request.
		t.drop(binding)
	}
	if len(filled) > 0 {
		if err := maskAnswer(resp, filled, t.cfg.MaxDecodedAnswer); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// binding is the value the token of req is bound to: nil (unbound) unless
// BindAuthorization is set, req goes to a token host and carries one
// Authorization header. A placeholder in it is resolved first (attesting
// if need be), under the same rules as when it is sent.
func (t *Transport) binding(req *http.Request, toHost bool) ([]byte, error) {
	auth := req.Header.Values("Authorization")
	if !toHost || !t.cfg.BindAuthorization || len(auth) != 1 {
		return nil, nil
	}
	if !strings.Contains(auth[0], PlaceholderOpen) {
		return []byte(auth[0]), nil
	}
	// Bind to the value actually sent: resolve it with what the latest
	// attestation released, attesting first if need be.
	if _, err := t.token(req.Context(), nil); err != nil {
		return nil, err
	}
	v, err := expand(auth[0], t.lookupFor(req.URL))
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// closeBody closes req's body, as a RoundTripper must even when it fails,
// and returns err.
func closeBody(req *http.Request, err error) error {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return err
}

// rewrite returns a clone of req with placeholders replaced and, for a
// token host, the token set; filled are the values of the secrets it
// filled in, each once. A request with a secret filled in asks for an
// answer that can be searched for it (askForSearchable).
func (t *Transport) rewrite(req *http.Request, res *Result, toHost bool) (*http.Request, [][]byte, error) {
	out := req.Clone(req.Context())
	var filled [][]byte
	var names []string
	lookup := t.lookupFor(req.URL)
	track := func(name string) ([]byte, error) {
		v, err := lookup(name)
		if err == nil && !slices.Contains(names, name) {
			names = append(names, name)
			filled = append(filled, v)
		}
		return v, err
	}
	for k, vs := range out.Header {
		for i, v := range vs {
			e, err := expand(v, track)
			if err != nil {
				return nil, nil, err
			}
			vs[i] = e
		}
		out.Header[k] = vs
	}
	if out.URL.RawQuery != "" {
		q, err := expandQuery(out.URL.RawQuery, track)
		if err != nil {
			return nil, nil, err
		}
		out.URL.RawQuery = q
	}
	if len(filled) > 0 {
		askForSearchable(out.Header)
	}
	if toHost {
		out.Header.Set(TokenHeader, res.Token)
		if t.cfg.ProofOfPossession && tokenBound(res.Token) {
			if err := SignRequest(out, t.c.key, t.cfg.Now(), t.cfg.MaxSignedBody); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, filled, nil
}

// isAttestCall: the Client's own calls, should they go through t.
func (t *Transport) isAttestCall(req *http.Request) bool {
	if strings.ToLower(req.URL.Host) != t.edgeHost {
		return false
	}
	p := strings.TrimPrefix(req.URL.Path, t.edgePath)
	return p == "/v1/challenge" || p == "/v1/attest"
}

// retryAfter is how long requests that do not need a token wait before
// trying to attest again after a failure.
const retryAfter = 10 * time.Second

func (t *Transport) backingOff() bool {
	f := t.failedAt.Load()
	return f != 0 && t.c.cfg.Now().Sub(time.Unix(0, f)) < retryAfter
}

func (t *Transport) hasLearned() bool {
	t.lmu.Lock()
	defer t.lmu.Unlock()
	return t.learned != nil
}

// token returns a fresh token bound to binding (nil: unbound), attesting
// when none is cached. Concurrent callers share one attestation.
func (t *Transport) token(ctx context.Context, binding []byte) (*Result, error) {
	return t.tokens.get(ctx, bindingKey(binding), func(ctx context.Context) (*Result, error) {
		res, err := t.c.Attest(ctx, Evidence{Integrity: t.cfg.Integrity, Binding: binding, WantSecrets: true, PoP: t.cfg.ProofOfPossession})
		switch {
		case err == nil:
			t.learn(res, true)
			t.failedAt.Store(0)
		case ctx.Err() == nil:
			// A request that gave up says nothing of the edge.
			t.failedAt.Store(t.c.cfg.Now().UnixNano())
		}
		return res, err
	})
}

// drop forgets the token bound to binding (nil: the unbound one).
func (t *Transport) drop(binding []byte) { t.tokens.drop(bindingKey(binding)) }

// learn applies the pins and secrets of res, an attestation of the Client.
// asked says the Transport asked it for secrets: then an answer without
// them (a failed verdict) releases none.
func (t *Transport) learn(res *Result, asked bool) {
	t.lmu.Lock()
	defer t.lmu.Unlock()
	if res != t.learned {
		t.learned = res
		if t.pins.update(res.Pins) {
			t.CloseIdleConnections()
		}
		if res.Secrets != "" {
			// A JWE that does not open releases nothing: fail closed.
			m, _ := t.c.OpenSecrets(res)
			sv := make(map[string]secret.Value, len(m))
			for k, v := range m {
				sv[k] = secret.FromString(v)
			}
			t.secrets.Store(&sv)
			return
		}
	}
	if asked && res.Secrets == "" {
		empty := map[string]secret.Value{}
		t.secrets.Store(&empty)
	}
}
