// Command backend is a runnable example of an API behind attestd: a net/http
// server that accepts only requests carrying a valid attestation token for
// account "demo" (docs/protocol.md §3), and answers the token's claims.
//
// It verifies with the account's HS256 key (its b64 secret in
// ATTESTD_HS256_SECRET), with the account's JWKS on the edge (-jwks, for
// ES256 and EdDSA keys, fetched at start and followed across rotations),
// or with both:
//
//	ATTESTD_HS256_SECRET=<b64 secret> go run ./examples/backend -jwks http://127.0.0.1:8080/v1/accounts/demo/jwks.json
//	curl -H "Attest-Token: $TOKEN" http://127.0.0.1:8081/
//
// See README.md beside this file.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// options are the example's flags, after the environment is read.
type options struct {
	listen, account, kid, jwksURL, issuer string
	jwksMinRefresh                        time.Duration
	key                                   secret.Value
	bind, mint                            bool
	now                                   func() time.Time // nil: time.Now (tests set a clock)
}

// DefaultListen is the example's address: beside the edge's 8080.
const DefaultListen = "127.0.0.1:8081"

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", DefaultListen, "address to serve on")
	fs.StringVar(&o.account, "account", "demo", "the account id tokens must be issued for (aud)")
	fs.StringVar(&o.kid, "kid", or(getenv("ATTESTD_KID"), "k1"), "kid of the HS256 key (env ATTESTD_KID)")
	fs.StringVar(&o.jwksURL, "jwks", "", "the account's JWKS URL on the edge (https, or http to loopback), for ES256/EdDSA keys")
	fs.DurationVar(&o.jwksMinRefresh, "jwks-min-refresh", backend.DefaultJWKSMinRefresh,
		"least time between two JWKS fetches, also for a token of an unknown kid")
	fs.StringVar(&o.issuer, "issuer", "attestd", "the deployment's issuer name (iss): the edge's --issuer")
	fs.BoolVar(&o.bind, "bind-authorization", true, "check bound tokens against the Authorization header")
	fs.BoolVar(&o.mint, "mint", false, "print a test token signed with the HS256 key, and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if b64 := getenv("ATTESTD_HS256_SECRET"); b64 != "" {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return o, fmt.Errorf("ATTESTD_HS256_SECRET is not standard base64: %w", err)
		}
		o.key = secret.New(raw)
	}
	if o.key.IsZero() && o.jwksURL == "" {
		return o, errors.New("set ATTESTD_HS256_SECRET (the account key's b64 secret), give -jwks URL, or both")
	}
	if o.mint && o.key.IsZero() {
		return o, errors.New("-mint signs with the HS256 key: set ATTESTD_HS256_SECRET")
	}
	return o, nil
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	o, err := parse(args, getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			log.Error("bad arguments", "err", err)
		}
		return 2
	}
	if o.mint {
		return mintTestToken(o, stdout, log)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	return serve(ctx, o, ln, log)
}

// verifier builds the token verifier of o: the HS256 key, the JWKS, or both.
func verifier(o options) (*backend.Verifier, error) {
	cfg := backend.Config{Audience: o.account, Issuer: o.issuer, JWKSURL: o.jwksURL, JWKSMinRefresh: o.jwksMinRefresh, Now: o.now}
	if !o.key.IsZero() {
		k, err := token.NewHMACKey(o.kid, o.key)
		if err != nil {
			return nil, fmt.Errorf("HS256 key: %w", err)
		}
		cfg.Keys = []token.VerifyKey{k}
	}
	return backend.New(cfg)
}

// serve answers on ln until ctx ends, then shuts down; it closes ln.
func serve(ctx context.Context, o options, ln net.Listener, log *slog.Logger) int {
	v, err := verifier(o)
	if err != nil {
		ln.Close()
		log.Error("verifier", "err", err)
		return 2
	}
	if o.jwksURL != "" {
		// Fetch the keys now, so a wrong URL shows at start; a failure is
		// not fatal (the edge may start later): the next token retries.
		fetch, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := v.Refresh(fetch); err != nil {
			log.Warn("JWKS not fetched yet", "url", o.jwksURL, "err", err)
		}
		cancel()
	}
	mw := []backend.MiddlewareOption{backend.WithRejectHook(func(err error) { log.Info("token refused", "reason", err) })}
	if o.bind {
		mw = append(mw, backend.WithBindingHeader("Authorization"))
	}
	srv := &http.Server{
		Handler:           v.HTTP(http.HandlerFunc(showClaims), mw...),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "account", o.account, "hs256", !o.key.IsZero(), "jwks", o.jwksURL)
	select {
	case err := <-errc:
		log.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// showClaims answers the verified claims: what an API would use to decide.
func showClaims(w http.ResponseWriter, r *http.Request) {
	c, _ := backend.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{
		"app":        c.Subject,
		"account":    c.Audience,
		"device":     c.Device,
		"token_id":   c.ID,
		"issued_at":  c.IssuedAt,
		"expires_at": c.ExpiresAt,
		"bound":      c.Payload != "",
	})
}

// mintTestToken prints a token as the edge would mint it for the demo app,
// so that the server can be tried without an edge.
func mintTestToken(o options, stdout io.Writer, log *slog.Logger) int {
	s, err := token.NewSigner(o.kid, token.HS256, o.key)
	if err != nil {
		log.Error("HS256 key", "err", err)
		return 2
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now()
	c := token.Claims{Issuer: o.issuer, Subject: "com.example.demo", Audience: o.account,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(5 * time.Minute).Unix(),
		ID: base64.RawURLEncoding.EncodeToString(jti), Device: "example-device"}
	tok, err := s.AppendMint(nil, &c)
	if err != nil {
		log.Error("mint", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", tok)
	return 0
}
