// Package try is `attestctl try`: one real attestation of the demo app
// against a running edge with the Go client, showing the token, its
// claims, the pins and the names of the released secrets.
//
// Only cmd/attestctl imports it.
package try

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/state"
)

// DebugTokenEnv is the environment variable try reads a debug token from
// when --debug-token is not given (so that it stays out of ps and shell
// history).
const DebugTokenEnv = "ATTESTD_DEBUG_TOKEN"

// Main runs `attestctl try [--url URL] [--rooted] [--show-secrets]
// [--debug-token TOKEN]`.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attestctl try", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of the edge")
	rooted := fs.Bool("rooted", false, "claim a rooted device (to see a failed verdict)")
	show := fs.Bool("show-secrets", false, "print the released secret values (they are the demo's)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for the whole exchange")
	debugToken := fs.String("debug-token", "", "send this debug `TOKEN` (default: $"+DebugTokenEnv+"; see attestctl help debug-token add)")
	app := fs.String("app", "", "attest as this app `ID` instead of the demo app (its signer and code are the demo's: "+
		"only a debug token makes such a request pass)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	demo := state.Demo()
	if *app == "" {
		*app = demo.AppID
	}
	if *debugToken == "" {
		*debugToken = os.Getenv(DebugTokenEnv)
	}
	c, err := client.New(client.Config{
		BaseURL: *url,
		App: client.App{ID: *app, Version: demo.Version, Platform: demo.Platform,
			Signer: demo.Signer, CodeDigest: demo.CodeDigest},
		HTTP:       &http.Client{Timeout: *timeout},
		DebugToken: *debugToken,
	})
	if err != nil {
		fmt.Fprintln(stderr, "attestctl try:", err)
		return 1
	}
	fmt.Fprintf(stdout, "device key made; did = %s\n", c.DID())
	res, err := c.Attest(ctx, client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: *rooted}})
	if err != nil {
		fmt.Fprintln(stderr, "attestctl try:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\ntoken (expires %s):\n%s\n", time.Unix(res.ExpiresAt, 0).UTC().Format(time.RFC3339), res.Token)
	hdr, claims, err := decode(res.Token)
	if err != nil {
		fmt.Fprintln(stderr, "attestctl try:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nheader: %s\nclaims:\n%s\n", hdr, claims)
	fmt.Fprintf(stdout, "\nverdict: %s\n", verdictLine(claims))
	if len(res.Pins) > 0 {
		pins, _ := json.MarshalIndent(res.Pins, "", "  ")
		fmt.Fprintf(stdout, "pins: %s\n", pins)
	}
	if res.Secrets != "" {
		secrets, err := c.OpenSecrets(res)
		if err != nil {
			fmt.Fprintln(stderr, "attestctl try:", err)
			return 1
		}
		names := make([]string, 0, len(secrets))
		for n := range secrets {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(stdout, "secrets (JWE decrypted with the device key):")
		for _, n := range names {
			v := fmt.Sprintf("%d bytes", len(secrets[n]))
			if *show {
				v = secrets[n]
			}
			fmt.Fprintf(stdout, "  %s: %s\n", n, v)
		}
	}
	return 0
}

// verdictLine says what the claims tell of the verdict (PROTOCOL.md §3,
// §11).
func verdictLine(claims []byte) string {
	var cl struct {
		Arc *string `json:"arc"`
		Mon bool    `json:"mon"`
		Dbg string  `json:"dbg"`
	}
	_ = json.Unmarshal(claims, &cl)
	var s string
	switch {
	case cl.Arc == nil:
		s = "unknown (the account does not annotate tokens)"
	case *cl.Arc == "":
		s = "PASSED (arc is empty)"
	case cl.Mon:
		s = "FAILED: " + *cl.Arc + " (monitor mode: the token is signed with the account's key, so backends accept it unless they refuse monitor-mode failures)"
	default:
		s = "FAILED: " + *cl.Arc + " (the token is a decoy no backend accepts)"
	}
	if cl.Dbg != "" {
		s += "; made with debug token " + strconv.Quote(cl.Dbg)
	}
	return s
}

// decode returns a JWT's header and pretty-printed claims, unverified.
func decode(tok string) (hdr, claims []byte, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("token is not a compact JWT")
	}
	if hdr, err = base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		return nil, nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	claims, err = json.MarshalIndent(m, "", "  ")
	return hdr, claims, err
}
