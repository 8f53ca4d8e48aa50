package daemon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/store/open"
)

// Flags is the configuration as given on the command line: strings and
// numbers as typed, before validation. Defaults are filled in one place,
// DefaultFlags.
type Flags struct {
	Store         string
	MasterKey     string
	Listen        string
	AdminListen   string
	HTTP3Listen   string
	TLSCert       string
	TLSKey        string
	NonceTTL      time.Duration
	Issuer        string
	AndroidRoots  string
	AppleRoots    string
	ReceiptTTL    time.Duration
	AndroidStatus string
	SeedDemo      bool
	DrainDelay    time.Duration
	DrainTimeout  time.Duration
	LogFormat     string
	LogLevel      string
	ReplayMax     int
	Snapshot      string
	MaxStaleness  time.Duration
}

// DefaultStoreURL is the embedded default store: a folder beside the
// working directory, created on first start.
const DefaultStoreURL = open.DefaultURL

// DefaultFlags returns the defaults of every setting.
func DefaultFlags() Flags {
	return Flags{
		Store:        DefaultStoreURL,
		Listen:       "127.0.0.1:8080",
		AdminListen:  "127.0.0.1:9090",
		NonceTTL:     attest.DefaultNonceTTL,
		Issuer:       attest.DefaultIssuer,
		ReceiptTTL:   30 * 24 * time.Hour,
		DrainDelay:   0,
		DrainTimeout: 30 * time.Second,
		LogFormat:    "text",
		LogLevel:     "info",
		ReplayMax:    2_000_000,
		MaxStaleness: 15 * time.Minute,
	}
}

// ParseFlags reads args over the defaults.
func ParseFlags(args []string, stderr io.Writer) (Flags, error) {
	f := DefaultFlags()
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.Store, "store", f.Store, "store URL: file:///path/to/dir or etcd://host:port[,host:port]/prefix")
	fs.StringVar(&f.MasterKey, "master-key", f.MasterKey, "master key file (default: master.key inside a file store)")
	fs.StringVar(&f.Listen, "listen", f.Listen, "HOST:PORT of the public HTTP/1.1 listener")
	fs.StringVar(&f.AdminListen, "admin-listen", f.AdminListen, "HOST:PORT of the admin listener (/healthz, /readyz, /metrics)")
	fs.StringVar(&f.HTTP3Listen, "http3-listen", f.HTTP3Listen, "HOST:PORT of the HTTP/3 listener (needs --tls-cert and --tls-key)")
	fs.StringVar(&f.TLSCert, "tls-cert", f.TLSCert, "TLS certificate chain (PEM)")
	fs.StringVar(&f.TLSKey, "tls-key", f.TLSKey, "TLS private key (PEM)")
	fs.DurationVar(&f.NonceTTL, "nonce-ttl", f.NonceTTL, "nonce lifetime, 10s to 300s")
	fs.StringVar(&f.Issuer, "issuer", f.Issuer, "token issuer (iss)")
	fs.StringVar(&f.AndroidRoots, "android-roots", f.AndroidRoots, "PEM file of Android attestation roots (replaces the built-in ones)")
	fs.StringVar(&f.AppleRoots, "apple-roots", f.AppleRoots, "PEM file of Apple App Attest roots (replaces the built-in one)")
	fs.DurationVar(&f.ReceiptTTL, "receipt-ttl", f.ReceiptTTL, "lifetime of platform attestation receipts")
	fs.StringVar(&f.AndroidStatus, "android-status", f.AndroidStatus, "Android attestation status list (Google's JSON), re-read when it changes")
	fs.BoolVar(&f.SeedDemo, "seed-demo", f.SeedDemo, "seed an empty file store with the demo account and app (always on for the default store)")
	fs.DurationVar(&f.DrainDelay, "drain-delay", f.DrainDelay, "on SIGTERM, time between /readyz turning 503 and the listeners closing")
	fs.DurationVar(&f.DrainTimeout, "drain-timeout", f.DrainTimeout, "on SIGTERM, how long in-flight requests may take to finish")
	fs.StringVar(&f.LogFormat, "log-format", f.LogFormat, "text or json")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "debug, info, warn or error")
	fs.IntVar(&f.ReplayMax, "replay-max", f.ReplayMax, "most nonces remembered per node within their lifetime (fails closed beyond)")
	fs.StringVar(&f.Snapshot, "snapshot", f.Snapshot, "last-known-good snapshot file of a remote store (etcd), served when the store is unreachable at start")
	fs.DurationVar(&f.MaxStaleness, "max-staleness", f.MaxStaleness, "while the store is unreachable, /readyz stays 200 (degraded) until the data is this old")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// Config is the validated, typed configuration.
type Config struct {
	Store         string
	MasterKey     string
	Listen        netip.AddrPort
	AdminListen   netip.AddrPort
	HTTP3Listen   netip.AddrPort // zero: no HTTP/3
	TLSCert       string
	TLSKey        string
	NonceTTL      time.Duration
	Issuer        string
	AndroidRoots  string
	AppleRoots    string
	ReceiptTTL    time.Duration
	AndroidStatus string
	SeedDemo      bool
	DrainDelay    time.Duration
	DrainTimeout  time.Duration
	LogFormat     string
	LogLevel      string
	ReplayMax     int
	Snapshot      string
	MaxStaleness  time.Duration
}

// Validate turns Flags into a Config, or an error naming the bad setting.
func (f Flags) Validate() (Config, error) {
	c := Config{Store: f.Store, MasterKey: f.MasterKey, TLSCert: f.TLSCert, TLSKey: f.TLSKey, NonceTTL: f.NonceTTL,
		Issuer: f.Issuer, AndroidRoots: f.AndroidRoots, AppleRoots: f.AppleRoots, ReceiptTTL: f.ReceiptTTL,
		AndroidStatus: f.AndroidStatus, SeedDemo: f.SeedDemo || f.Store == DefaultStoreURL, DrainDelay: f.DrainDelay,
		DrainTimeout: f.DrainTimeout, LogFormat: f.LogFormat, LogLevel: f.LogLevel, ReplayMax: f.ReplayMax,
		Snapshot: f.Snapshot, MaxStaleness: f.MaxStaleness}
	var err error
	if c.Listen, err = hostPort("listen", f.Listen); err != nil {
		return c, err
	}
	if c.AdminListen, err = hostPort("admin-listen", f.AdminListen); err != nil {
		return c, err
	}
	if f.HTTP3Listen != "" {
		if c.HTTP3Listen, err = hostPort("http3-listen", f.HTTP3Listen); err != nil {
			return c, err
		}
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return c, errors.New("--tls-cert and --tls-key go together")
	}
	if f.HTTP3Listen != "" && f.TLSCert == "" {
		return c, errors.New("--http3-listen needs --tls-cert and --tls-key")
	}
	if f.NonceTTL < attest.MinNonceTTL || f.NonceTTL > attest.MaxNonceTTL {
		return c, fmt.Errorf("--nonce-ttl %v: must be %v to %v", f.NonceTTL, attest.MinNonceTTL, attest.MaxNonceTTL)
	}
	if strings.TrimSpace(f.Issuer) == "" {
		return c, errors.New("--issuer must not be empty")
	}
	if f.ReceiptTTL < time.Minute {
		return c, fmt.Errorf("--receipt-ttl %v: must be at least 1m", f.ReceiptTTL)
	}
	if f.DrainDelay < 0 || f.DrainTimeout <= 0 {
		return c, errors.New("--drain-delay must be >= 0 and --drain-timeout > 0")
	}
	switch f.LogFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("--log-format %q: must be text or json", f.LogFormat)
	}
	switch f.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.LogLevel)
	}
	if f.MaxStaleness <= 0 {
		return c, errors.New("--max-staleness must be positive")
	}
	if f.ReplayMax < 1000 {
		return c, fmt.Errorf("--replay-max %d: must be at least 1000", f.ReplayMax)
	}
	return c, nil
}

func hostPort(name, v string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(v)
	if err == nil {
		return ap, nil
	}
	if strings.HasPrefix(v, "localhost:") {
		return netip.ParseAddrPort("127.0.0.1:" + strings.TrimPrefix(v, "localhost:"))
	}
	return ap, fmt.Errorf("--%s %q: want IP:PORT (e.g. 127.0.0.1:8080 or [::]:443)", name, v)
}
