// Package try is `attestctl try`: one real attestation of a registered app
// (the demo app unless told otherwise) against a running edge with the Go
// client, showing the token, its claims, the verdict, the pins and the
// released secrets (their sizes; the values with --show-secrets).
//
// The exit code is the verdict's: 0 when it passed, 1 when it failed or
// could not be told (an account that does not annotate its tokens, whose
// keys try cannot reach), 2 for a usage error.
//
// Why a package of its own, plugged into internal/ctl (ctl.Config.Try)
// rather than a file of ctl: ctl is the operator's tool over the store,
// try is an app talking to a running node. try needs the Go client (the
// SDK, its JOSE and request-signing code) and a node to test against;
// ctl needs neither, and its store commands and their tests stay apart
// from the SDK's changes. The dependency runs one way: try imports ctl
// for what attestctl hands it (ctl.TryEnv: its global flags, the store's
// account keys, hints) and ctl.ParseDigest; ctl never imports try or the
// client. Folding it into ctl would remove TryEnv but make every ctl
// build and test depend on the client.
//
// Only cmd/attestctl imports it (and the end-to-end tests that run it).
package try

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
)

// Exit codes of Main.
const (
	exitPassed = 0
	exitFailed = 1
	exitUsage  = 2
)

// DebugTokenEnv is the environment variable try reads a debug token from
// when --debug-token is not given (so that it stays out of ps and shell
// history).
const DebugTokenEnv = "ATTESTD_DEBUG_TOKEN"

// maxCAFileBytes bounds the --ca file read.
const maxCAFileBytes = 1 << 20

const helpText = `usage: attestctl try [--url URL] [--ca FILE] [APP FLAGS] [--rooted] [--show-secrets]

Attests an app against a running node exactly as the app's SDK would, with
the Go client (client/): a new device key, a challenge, the measurement of
the code digest against the nonce, the signed evidence, the attest. Prints
the token, its claims, the verdict, the pins, and the runtime secrets it
decrypted with the device key (their sizes; the values with --show-secrets).

Which app (APP FLAGS):
  (none)                the demo app com.example.demo, seeded by
                        'attestctl init --demo' or the daemon's first start
                        on its default store
  --app ID --signer DIGEST --code-digest DIGEST [--version V] [--platform P]
                        any registered app, with the values registered for
                        it (digests in b64u, base64 or hex)
  --bundle FILE [--app ID] [--version V]
                        an app of a bundle, with the signer and code digest
                        the bundle registers (--app when it has several
                        apps, --version when the app has several versions)
  --app ID --debug-token TOKEN
                        any registered app, with a debug token of it
                        (docs/protocol.md §9: it waives signer, version and code, so
                        the demo's are sent); the token may also come from
                        $ATTESTD_DEBUG_TOKEN, which keeps it out of ps

The verdict is read from the token's "arc" claim where the account annotates
tokens, and checked against the account's keys in every case it can be: the
public keys of /v1/accounts/ACCOUNT/jwks.json for ES256 and EdDSA, the HS256
secret from the store the global flags name (--store, --master-key). A
failed verdict's token is a decoy signed with a key no backend holds.

Exit status: 0 the verdict passed; 1 it failed, or could not be told; 2 usage.
The global flags (--store, --master-key, --timeout for the whole exchange,
--etcd-*) are accepted before or after "try".

Flags:
`

// flags are try's own flags.
type flags struct {
	url, ca, account, bundle string
	app, version, platform   string
	signer, code             string
	debugToken               string
	rooted, show             bool
	timeout                  time.Duration
}

func (f *flags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base `URL` of the node (https:// for its HTTPS listener)")
	fs.StringVar(&f.ca, "ca", "", "PEM `FILE` of CA certificates to trust for an https URL (default: the system's)")
	fs.StringVar(&f.app, "app", "", "app `ID` to attest (default: the demo app)")
	fs.StringVar(&f.signer, "signer", "", "the app's signer `DIGEST` (with --app)")
	fs.StringVar(&f.code, "code-digest", "", "the code `DIGEST` of --version (with --app)")
	fs.StringVar(&f.version, "version", "", "the app version `V` to claim (default: the demo's, or the bundle app's only version)")
	fs.StringVar(&f.platform, "platform", "", "android or ios (default: android, or the bundle's)")
	fs.StringVar(&f.bundle, "bundle", "", "take the app from this bundle `FILE`")
	fs.StringVar(&f.account, "account", "", "the `ACCOUNT` the app belongs to: a token for another fails (default: the token's)")
	fs.StringVar(&f.debugToken, "debug-token", "", "send this debug `TOKEN` (default: $"+DebugTokenEnv+"; see attestctl help debug-token add)")
	fs.BoolVar(&f.rooted, "rooted", false, "claim a rooted device (to see a failed verdict)")
	fs.BoolVar(&f.show, "show-secrets", false, "print the released secret values")
}

// Main runs `attestctl try`; it is a ctl.TryFunc.
func Main(ctx context.Context, args []string, env ctl.TryEnv) int {
	var f flags
	fs := flag.NewFlagSet("attestctl try", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	pos, err := env.Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, helpText)
		fs.SetOutput(env.Stdout)
		fs.PrintDefaults()
		return exitPassed
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "attestctl try: %v\nrun '%s help try' for its flags\n", err, env.Program)
		return exitUsage
	}
	if f.debugToken == "" {
		f.debugToken = os.Getenv(DebugTokenEnv)
	}
	app, err := f.resolveApp()
	if err != nil {
		fmt.Fprintf(env.Stderr, "attestctl try: %v\n", err)
		return exitUsage
	}
	timeout := env.Timeout()
	if timeout <= 0 {
		fmt.Fprintln(env.Stderr, "attestctl try: --timeout must be positive")
		return exitUsage
	}
	hc, err := httpClient(f.ca, timeout)
	if err != nil {
		fmt.Fprintf(env.Stderr, "attestctl try: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &trial{f: f, env: env, app: app, hc: hc}
	return t.run(ctx)
}

// httpClient is the client try talks to the node with: the CAs of caFile
// (when given) as its only roots.
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	hc := &http.Client{Timeout: timeout}
	if caFile == "" {
		return hc, nil
	}
	fi, err := os.Stat(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxCAFileBytes {
		return nil, fmt.Errorf("--ca: %s is not a regular file of at most %d bytes", caFile, maxCAFileBytes)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	hc.Transport = tr
	return hc, nil
}

// trial is one run of try.
type trial struct {
	f   flags
	env ctl.TryEnv
	app target
	hc  *http.Client
}

func (t *trial) run(ctx context.Context) int {
	out := t.env.Stdout
	c, err := client.New(client.Config{BaseURL: t.f.url, App: t.app.App, HTTP: t.hc, DebugToken: t.f.debugToken})
	if err != nil {
		fmt.Fprintln(t.env.Stderr, "attestctl try:", err)
		return exitUsage
	}
	fmt.Fprintf(out, "attesting app %s version %s (%s, %s) at %s\n", t.app.ID, t.app.Version, t.app.Platform, t.app.source, t.f.url)
	fmt.Fprintf(out, "device key made; did = %s\n", c.DID())
	res, err := c.Attest(ctx, client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: t.f.rooted}})
	if err != nil {
		fmt.Fprintln(t.env.Stderr, "attestctl try:", err)
		return exitFailed
	}
	fmt.Fprintf(out, "\ntoken (expires %s):\n%s\n", time.Unix(res.ExpiresAt, 0).UTC().Format(time.RFC3339), res.Token)
	tok, err := decode(res.Token)
	if err != nil {
		fmt.Fprintln(t.env.Stderr, "attestctl try:", err)
		return exitFailed
	}
	fmt.Fprintf(out, "\nheader: %s\nclaims:\n%s\n", tok.header, tok.pretty)
	v := t.verdict(ctx, tok)
	if res.PlatformAttestation != "" {
		v.notes = append([]string{fmt.Sprintf("the answer says platform_attestation: %s: the app's policy requires hardware evidence "+
			"(android-key, apple-appattest) or its receipt, which try cannot produce", res.PlatformAttestation)}, v.notes...)
	}
	fmt.Fprintf(out, "\nverdict: %s\n", v.line)
	for _, n := range v.notes {
		fmt.Fprintf(out, "  %s\n", n)
	}
	if len(res.Pins) > 0 {
		fmt.Fprintf(out, "pins: %s\n", pinsJSON(res.Pins))
	}
	if res.Secrets != "" {
		if code := t.secrets(c, res); code != exitPassed {
			return code
		}
	}
	if !v.passed {
		return exitFailed
	}
	return exitPassed
}

func (t *trial) secrets(c *client.Client, res *client.Result) int {
	secrets, err := c.OpenSecrets(res)
	if err != nil {
		fmt.Fprintln(t.env.Stderr, "attestctl try:", err)
		return exitFailed
	}
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		fmt.Fprintln(t.env.Stdout, "secrets: none (no secret of the account lists this app)")
	case t.f.show:
		fmt.Fprintln(t.env.Stdout, "secrets (JWE decrypted with the device key):")
	default:
		fmt.Fprintln(t.env.Stdout, "secrets (JWE decrypted with the device key; sizes only, values with --show-secrets):")
	}
	for _, n := range names {
		v := fmt.Sprintf("%d bytes", len(secrets[n]))
		if t.f.show {
			v = secrets[n]
		}
		fmt.Fprintf(t.env.Stdout, "  %s: %s\n", n, v)
	}
	return exitPassed
}
