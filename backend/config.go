package backend

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/attestd/attestd/crypto/token"
)

// Defaults of Config, filled in by New.
const (
	DefaultIssuer          = "attestd"
	DefaultLeeway          = 30 * time.Second
	DefaultJWKSTimeout     = 10 * time.Second
	DefaultJWKSMinRefresh  = 30 * time.Second
	DefaultJWKSMaxAge      = 5 * time.Minute
	DefaultJWKSMaxAgeLimit = 24 * time.Hour
)

// Config configures a Verifier. Keys, JWKSURL or both must be given; the
// zero value of every other field but Audience selects its default.
type Config struct {
	// Keys are keys known in advance: HS256 secrets (never published) and
	// public keys.
	Keys []token.VerifyKey
	// JWKSURL is the account's JWKS on the edge,
	// https://EDGE/v1/accounts/ACCOUNT/jwks.json. It must be https, or http
	// to a loopback host. Its keys are added to Keys (a kid in both is an
	// error, and the fetch that brings it fails).
	JWKSURL string

	// Audience is the account id; aud must equal it. Required.
	Audience string
	// Issuer is the deployment's issuer name (default "attestd").
	Issuer string
	// Leeway is the clock skew allowed on exp and iat (0: 30 s; negative:
	// none).
	Leeway time.Duration
	// RequireBinding refuses tokens without pay (see the package doc).
	RequireBinding bool
	// RefuseMonitorFailures refuses tokens that stand for a failed verdict
	// of an app in monitor mode (mon true, arc not empty; see the package
	// doc) with ErrMonitorFailure. Set it once the app enforces, or on an
	// API that must see only passes while the app is still watched.
	RefuseMonitorFailures bool
	// Now is the clock (default time.Now).
	Now func() time.Time

	// HTTPClient fetches the JWKS. The default has a JWKSTimeout timeout and
	// follows no redirects.
	HTTPClient *http.Client
	// JWKSTimeout bounds each fetch (default 10 s).
	JWKSTimeout time.Duration
	// JWKSMinRefresh is the least time between two fetches, whatever asks
	// for them: unknown kids, expiry, failures (default 30 s).
	JWKSMinRefresh time.Duration
	// JWKSMaxAge is how long a JWKS is used before it is fetched again when
	// the answer has no Cache-Control max-age (default 5 min). A max-age is
	// honoured, raised to at least JWKSMinRefresh and lowered to at most
	// JWKSMaxAgeLimit (default 24 h); no-store and no-cache count as 0.
	JWKSMaxAge      time.Duration
	JWKSMaxAgeLimit time.Duration
}

// withDefaults validates c and returns it with its defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Audience == "" {
		return c, fmt.Errorf("%w: Audience (the account id) is required", ErrConfig)
	}
	if len(c.Keys) == 0 && c.JWKSURL == "" {
		return c, fmt.Errorf("%w: give Keys, a JWKSURL, or both", ErrConfig)
	}
	if c.JWKSURL != "" {
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			return c, err
		}
	}
	if _, err := token.NewKeySet(c.Keys...); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.JWKSTimeout, DefaultJWKSTimeout)
	def(&c.JWKSMinRefresh, DefaultJWKSMinRefresh)
	def(&c.JWKSMaxAge, DefaultJWKSMaxAge)
	def(&c.JWKSMaxAgeLimit, DefaultJWKSMaxAgeLimit)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout: c.JWKSTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("the JWKS URL redirects")
			},
		}
	}
	return c, nil
}

func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: JWKSURL: %w", ErrConfig, err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%w: JWKSURL must be https (or http to a loopback host)", ErrConfig)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
