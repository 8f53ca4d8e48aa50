// Command backend is a runnable example of an API behind attestd: a net/http
// server that accepts only requests carrying a valid attestation token for
// account "demo" (PROTOCOL.md §3), and answers the token's claims.
//
//	ATTESTD_HS256_SECRET=<b64 secret of the account's HS256 key> go run ./examples/backend
//	curl -H "Attest-Token: $TOKEN" http://127.0.0.1:8080/
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
	listen, account, kid, jwksURL string
	key                           secret.Value
	bind, mint                    bool
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve on")
	fs.StringVar(&o.account, "account", "demo", "the account id tokens must be issued for (aud)")
	fs.StringVar(&o.kid, "kid", or(getenv("ATTESTD_KID"), "k1"), "kid of the HS256 key (env ATTESTD_KID)")
	fs.StringVar(&o.jwksURL, "jwks", "", "optional JWKS URL of the account on the edge, for ES256/EdDSA keys")
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
		return o, errors.New("set ATTESTD_HS256_SECRET (the account key's b64 secret) or give -jwks")
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
	cfg := backend.Config{Audience: o.account, JWKSURL: o.jwksURL}
	if !o.key.IsZero() {
		k, err := token.NewHMACKey(o.kid, o.key)
		if err != nil {
			log.Error("HS256 key", "err", err)
			return 2
		}
		cfg.Keys = []token.VerifyKey{k}
	}
	v, err := backend.New(cfg)
	if err != nil {
		log.Error("verifier", "err", err)
		return 2
	}
	mw := []backend.MiddlewareOption{backend.WithRejectHook(func(err error) { log.Info("token refused", "reason", err) })}
	if o.bind {
		mw = append(mw, backend.WithBindingHeader("Authorization"))
	}
	srv := &http.Server{
		Addr:              o.listen,
		Handler:           v.HTTP(http.HandlerFunc(showClaims), mw...),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", o.listen, "account", o.account)
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
	c := token.Claims{Issuer: "attestd", Subject: "com.example.demo", Audience: o.account,
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
