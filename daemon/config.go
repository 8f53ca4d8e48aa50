package daemon

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/androidstatus"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/h3api"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/proxy"
	"github.com/attestd/attestd/store/open"
)

// Flags is the configuration as given by the file, the environment and the
// command line: strings and numbers as typed, before validation. Defaults
// are filled in one place, DefaultFlags; LoadFlags merges the sources.
type Flags struct {
	// Pprof serves /debug/pprof/ on the admin listener.
	Pprof bool
	// Etcd holds the etcd TLS and authentication settings (--etcd-*).
	Etcd        open.EtcdOptions
	Config      string
	Store       string
	MasterKey   string
	Listen      string
	TLSListen   string
	AdminListen string
	HTTP3Listen string
	// ReadTimeout, WriteTimeout and IdleTimeout bound the requests and
	// connections of the public listeners, HTTP/1.1 and HTTP/3 alike.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// HTTP3MaxStreams bounds the requests open at once on one HTTP/3
	// connection; HTTP3MaxConnsPerIP the connections of one client IP
	// (IPv6: one /64).
	HTTP3MaxStreams    int
	HTTP3MaxConnsPerIP int
	TLSCert            string
	TLSKey             string
	NonceTTL           time.Duration
	Issuer             string
	AndroidRoots       string
	AppleRoots         string
	ReceiptTTL         time.Duration
	AndroidStatus      string
	// AndroidStatusCache, AndroidStatusRefresh, AndroidStatusMaxAge and
	// AndroidStatusFail are the status list's (PROTOCOL.md §9).
	AndroidStatusCache   string
	AndroidStatusRefresh time.Duration
	AndroidStatusMaxAge  time.Duration
	AndroidStatusFail    string
	SeedDemo             bool
	DrainDelay           time.Duration
	DrainTimeout         time.Duration
	LogFormat            string
	LogLevel             string
	ReplayMax            int
	// Load shedding and rate limits (0 turns one off).
	MaxInFlight int
	// ProxyMaxInFlight bounds proxied requests in flight, apart from
	// MaxInFlight (limit.Config.ProxyMaxInFlight).
	ProxyMaxInFlight int
	// ProxyMaxInFlightPerDevice bounds one device's proxied requests in
	// flight (limit.Config.ProxyMaxInFlightPerDevice).
	ProxyMaxInFlightPerDevice int
	MaxQueueDelay             time.Duration
	ChallengeRate             float64
	ChallengeBurst            int
	AttestRate                float64
	AttestBurst               int
	// ProxyLeeway is the clock skew the secrets proxy allows on exp.
	ProxyLeeway time.Duration
	// ProxyStreamTimeout bounds a proxied exchange, the request body read
	// and the answer written (instead of ReadTimeout and WriteTimeout).
	ProxyStreamTimeout time.Duration
	// ProxyAuthority is the @authority apps sign for the proxy ("": each
	// request's Host); ProxySignatureWindow how far a request signature's
	// created may be from now (proxy.Config).
	ProxyAuthority       string
	ProxySignatureWindow time.Duration
	Snapshot             string
	MaxStaleness         time.Duration
	// VerdictLogEvery logs one failed verdict in N with its reasons (0: none).
	VerdictLogEvery int
	Node            string
	Region          string
	// Pyroscope* turn continuous profiling on when PyroscopeServer is set.
	PyroscopeServer   string
	PyroscopeUser     string
	PyroscopePassword string
}

// DefaultStoreURL is the embedded default store: a folder beside the
// working directory, created on first start.
const DefaultStoreURL = open.DefaultURL

// DefaultProxyMaxInFlight is --proxy-max-in-flight's default, a quarter
// of --max-in-flight's: while its place is held a proxied request holds
// goroutines, its connection's buffers and an upstream connection (tens
// of KiB), so 1024 of them are tens of MiB and 1024 upstream connections
// at most; and it is above what genuine traffic holds at once (requests a
// second × the upstream's time to its answer header: 1024 is 10 000 a
// second at 100 ms).
const DefaultProxyMaxInFlight = 1024

// DefaultProxyMaxInFlightPerDevice is --proxy-max-in-flight-per-device's
// default: above what one app does at once (a mobile HTTP stack opens a
// handful of requests to one host in parallel: 4 to 6 for HTTP/1.1, a few
// more multiplexed), with room for a burst of uploads, and small against
// the pool: one token takes at most 16 of 1024 places (1.6 %), and
// filling the pool takes 64 devices, that is 64 attests.
const DefaultProxyMaxInFlightPerDevice = 16

// DefaultFlags returns the defaults of every setting.
func DefaultFlags() Flags {
	return Flags{
		Store:                     DefaultStoreURL,
		Listen:                    "127.0.0.1:8080",
		AdminListen:               "127.0.0.1:9090",
		ReadTimeout:               h3api.DefaultReadTimeout,
		WriteTimeout:              h3api.DefaultWriteTimeout,
		IdleTimeout:               h3api.DefaultIdleTimeout,
		HTTP3MaxStreams:           h3api.DefaultMaxStreams,
		HTTP3MaxConnsPerIP:        h3api.DefaultMaxConnsPerIP,
		NonceTTL:                  attest.DefaultNonceTTL,
		Issuer:                    attest.DefaultIssuer,
		ReceiptTTL:                30 * 24 * time.Hour,
		AndroidStatusRefresh:      androidstatus.DefaultRefresh,
		AndroidStatusMaxAge:       24 * time.Hour,
		AndroidStatusFail:         "open",
		DrainDelay:                0,
		DrainTimeout:              30 * time.Second,
		LogFormat:                 "text",
		LogLevel:                  "info",
		ReplayMax:                 2_000_000,
		MaxInFlight:               4096,
		ProxyMaxInFlight:          DefaultProxyMaxInFlight,
		ProxyMaxInFlightPerDevice: DefaultProxyMaxInFlightPerDevice,
		MaxQueueDelay:             20 * time.Millisecond,
		ChallengeRate:             100,
		ChallengeBurst:            200,
		AttestRate:                5,
		AttestBurst:               10,
		ProxyLeeway:               30 * time.Second,
		ProxyStreamTimeout:        proxy.DefaultStreamTimeout,
		ProxySignatureWindow:      httpsig.DefaultWindow,
		MaxStaleness:              15 * time.Minute,
		VerdictLogEvery:           100,
	}
}

// registerFlags binds every setting of f to a flag of fs. The flag name is
// also the setting's name in the file (with _ for -) and, upper-cased with
// the ATTESTD_ prefix, in the environment.
func registerFlags(fs *flag.FlagSet, f *Flags) {
	fs.BoolVar(&f.Pprof, "pprof", f.Pprof, "serve Go profiles at /debug/pprof/ on the admin listener")
	f.Etcd.RegisterFlags(fs)
	fs.StringVar(&f.Config, "config", f.Config, "YAML configuration file (keys as the flags, with _ for -)")
	fs.StringVar(&f.Store, "store", f.Store, "store URL: file:///path/to/dir or etcd://host:port[,host:port]/prefix")
	fs.StringVar(&f.MasterKey, "master-key", f.MasterKey, "master key file (default: $CREDENTIALS_DIRECTORY/master.key when present, else master.key inside a file store)")
	fs.StringVar(&f.Listen, "listen", f.Listen, "HOST:PORT of the public plaintext HTTP/1.1 listener (\"off\": none)")
	fs.StringVar(&f.TLSListen, "tls-listen", f.TLSListen, "HOST:PORT of the public HTTPS listener (HTTP/1.1 over TLS; needs --tls-cert and --tls-key)")
	fs.StringVar(&f.AdminListen, "admin-listen", f.AdminListen, "HOST:PORT of the admin listener (/healthz, /readyz, /metrics)")
	fs.StringVar(&f.HTTP3Listen, "http3-listen", f.HTTP3Listen, "HOST:PORT of the HTTP/3 listener (needs --tls-cert and --tls-key)")
	fs.DurationVar(&f.ReadTimeout, "read-timeout", f.ReadTimeout, "public listeners (HTTP/1.1 and HTTP/3): time to read a request, header and body, from its first byte (HTTP/3: its stream's opening)")
	fs.DurationVar(&f.WriteTimeout, "write-timeout", f.WriteTimeout, "public listeners: an answer is written within read-timeout + write-timeout of its request's first byte")
	fs.DurationVar(&f.IdleTimeout, "idle-timeout", f.IdleTimeout, "public listeners: a connection with no request open is closed after this long")
	fs.IntVar(&f.HTTP3MaxStreams, "http3-max-streams", f.HTTP3MaxStreams, "requests open at once on one HTTP/3 connection (the client waits for one to end before the next)")
	fs.IntVar(&f.HTTP3MaxConnsPerIP, "http3-max-conns-per-ip", f.HTTP3MaxConnsPerIP, "HTTP/3 connections of one client IP (IPv6: per /64); more are refused")
	fs.StringVar(&f.TLSCert, "tls-cert", f.TLSCert, "TLS certificate chain (PEM), re-read on SIGHUP")
	fs.StringVar(&f.TLSKey, "tls-key", f.TLSKey, "TLS private key (PEM), re-read on SIGHUP")
	fs.DurationVar(&f.NonceTTL, "nonce-ttl", f.NonceTTL, "nonce lifetime, 10s to 300s")
	fs.StringVar(&f.Issuer, "issuer", f.Issuer, "token issuer (iss)")
	fs.StringVar(&f.AndroidRoots, "android-roots", f.AndroidRoots, "PEM file of Android attestation roots (replaces the built-in ones)")
	fs.StringVar(&f.AppleRoots, "apple-roots", f.AppleRoots, "PEM file of Apple App Attest roots (replaces the built-in one)")
	fs.DurationVar(&f.ReceiptTTL, "receipt-ttl", f.ReceiptTTL, "lifetime of platform attestation receipts")
	fs.StringVar(&f.AndroidStatus, "android-status", f.AndroidStatus, "Android attestation status list (Google's JSON): a file, re-read when it changes, or a URL "+
		"(https://, or http:// to a loopback IP) fetched at start and every --android-status-refresh, e.g. https://android.googleapis.com/attestation/status")
	fs.StringVar(&f.AndroidStatusCache, "android-status-cache", f.AndroidStatusCache, "file keeping the last good status list fetched from the URL, for restarts without network "+
		"(default: android-status.json in $STATE_DIRECTORY when systemd sets it)")
	fs.DurationVar(&f.AndroidStatusRefresh, "android-status-refresh", f.AndroidStatusRefresh, "time between fetches of the status list URL, 1m to 24h (sooner when its Cache-Control max-age says so, never under 1m)")
	fs.DurationVar(&f.AndroidStatusMaxAge, "android-status-max-age", f.AndroidStatusMaxAge, "age past which the status list in force is stale (see --android-status-fail), 1m to 8760h")
	fs.StringVar(&f.AndroidStatusFail, "android-status-fail", f.AndroidStatusFail, "while the status list is stale: open (android-key evidence and receipts accepted, logged, counted) "+
		"or closed (refused: android_status_stale)")
	fs.BoolVar(&f.SeedDemo, "seed-demo", f.SeedDemo, "seed an empty file store with the demo account and app (always on for the default store)")
	fs.DurationVar(&f.DrainDelay, "drain-delay", f.DrainDelay, "on SIGTERM, time between /readyz turning 503 and the listeners closing")
	fs.DurationVar(&f.DrainTimeout, "drain-timeout", f.DrainTimeout, "on SIGTERM, how long in-flight requests may take to finish")
	fs.StringVar(&f.LogFormat, "log-format", f.LogFormat, "text or json")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "debug, info, warn or error (debug logs every request)")
	fs.IntVar(&f.ReplayMax, "replay-max", f.ReplayMax, "nonces remembered per node within their lifetime, per class: N of passes and, apart, N of decoys "+
		"(failed verdicts, unknown apps) and N of monitor-mode failures and debug-token verdicts; past N a class's attests "+
		"are answered overloaded, the other classes' go on. Memory: at most 3 × N × 64 bytes (384 MB at 2000000)")
	fs.IntVar(&f.MaxInFlight, "max-in-flight", f.MaxInFlight, "API requests (challenge, attest, keys) served at once before answering overloaded (0: no bound)")
	fs.IntVar(&f.ProxyMaxInFlight, "proxy-max-in-flight", f.ProxyMaxInFlight, "proxied requests (/v1/proxy/…) served at once before answering overloaded, apart from --max-in-flight: "+
		"each holds its place until the upstream's answer header, up to --proxy-stream-timeout (0: no bound)")
	fs.IntVar(&f.ProxyMaxInFlightPerDevice, "proxy-max-in-flight-per-device", f.ProxyMaxInFlightPerDevice, "proxied requests of one device (a token's did) served at once before answering rate_limited, "+
		"within --proxy-max-in-flight, so that one token cannot take every place (0: no bound)")
	fs.DurationVar(&f.MaxQueueDelay, "max-queue-delay", f.MaxQueueDelay, "shed a rising share of requests while runnable goroutines wait longer than this for a CPU (p90; 0: off)")
	fs.Float64Var(&f.ChallengeRate, "challenge-rate", f.ChallengeRate, "challenges per second per client IP (IPv6: per /64) before rate_limited (0: off)")
	fs.IntVar(&f.ChallengeBurst, "challenge-burst", f.ChallengeBurst, "challenges a client IP may make at once")
	fs.Float64Var(&f.AttestRate, "attest-rate", f.AttestRate, "attests per second per device key, counting only those whose signature verified, before rate_limited (0: off)")
	fs.IntVar(&f.AttestBurst, "attest-burst", f.AttestBurst, "attests a device key may make at once")
	fs.DurationVar(&f.ProxyLeeway, "proxy-leeway", f.ProxyLeeway, "clock skew the secrets proxy allows on a token's exp")
	fs.DurationVar(&f.ProxyStreamTimeout, "proxy-stream-timeout", f.ProxyStreamTimeout, "a proxied exchange's time to read the request body and write the answer (instead of read-timeout and write-timeout)")
	fs.StringVar(&f.ProxyAuthority, "proxy-authority", f.ProxyAuthority, "the host[:port] apps sign as @authority in proxied requests "+
		"(the edge's public name, the port only when not the scheme's default); empty: each request's Host. Set it when a load balancer rewrites Host")
	fs.DurationVar(&f.ProxySignatureWindow, "proxy-signature-window", f.ProxySignatureWindow, "how far a proxied request signature's created may be from now, either way, for APIs with require_signature")
	fs.StringVar(&f.Snapshot, "snapshot", f.Snapshot, "last-known-good snapshot file of a remote store (etcd), served when the store is unreachable at start "+
		"(default on etcd: $STATE_DIRECTORY/"+SnapshotFileName+" under systemd, else ./"+SnapshotFileName+"; \"\" for none)")
	fs.DurationVar(&f.MaxStaleness, "max-staleness", f.MaxStaleness, "while the store is unreachable, /readyz stays 200 (degraded) until the data is this old")
	fs.IntVar(&f.VerdictLogEvery, "verdict-log-every", f.VerdictLogEvery, "log one failed verdict in N with its reasons (0: none, 1: all)")
	fs.StringVar(&f.Node, "node", f.Node, "node name for profiles (default: the host name)")
	fs.StringVar(&f.Region, "region", f.Region, "region name for profiles")
	fs.StringVar(&f.PyroscopeServer, "pyroscope-server", f.PyroscopeServer, "Pyroscope server URL; continuous profiling is off when empty")
	fs.StringVar(&f.PyroscopeUser, "pyroscope-user", f.PyroscopeUser, "Pyroscope basic auth user")
	fs.StringVar(&f.PyroscopePassword, "pyroscope-password", f.PyroscopePassword, "Pyroscope basic auth password (secret)")
}

// isSecret names the settings that --print-config redacts.
func isSecret(name string) bool {
	switch name {
	case "pyroscope-password":
		return true
	}
	return false
}

// Config is the validated, typed configuration.
type Config struct {
	Store       string
	MasterKey   string
	Listen      netip.AddrPort // zero: no plaintext listener
	TLSListen   netip.AddrPort // zero: no HTTPS listener
	AdminListen netip.AddrPort
	HTTP3Listen netip.AddrPort // zero: no HTTP/3
	// ReadTimeout, WriteTimeout, IdleTimeout: the public listeners'.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// HTTP3MaxStreams and HTTP3MaxConnsPerIP bound HTTP/3 (h3api.ServerConfig).
	HTTP3MaxStreams    int
	HTTP3MaxConnsPerIP int
	TLSCert            string
	TLSKey             string
	NonceTTL           time.Duration
	Issuer             string
	AndroidRoots       string
	AppleRoots         string
	ReceiptTTL         time.Duration
	// AndroidStatus is a file or a URL (androidstatus.ParseSource).
	AndroidStatus        string
	AndroidStatusCache   string
	AndroidStatusRefresh time.Duration
	AndroidStatusMaxAge  time.Duration
	// AndroidStatusFailClosed: --android-status-fail closed.
	AndroidStatusFailClosed bool
	SeedDemo                bool
	DrainDelay              time.Duration
	DrainTimeout            time.Duration
	LogFormat               string
	LogLevel                string
	ReplayMax               int
	Limits                  limit.Config
	ProxyLeeway             time.Duration
	// ProxyStreamTimeout is the proxy's proxy.Config.StreamTimeout.
	ProxyStreamTimeout time.Duration
	// ProxyAuthority and ProxySignatureWindow are proxy.Config's Authority
	// and SignatureWindow.
	ProxyAuthority       string
	ProxySignatureWindow time.Duration
	Snapshot             string
	Etcd                 open.EtcdOptions
	Pprof                bool
	MaxStaleness         time.Duration
	VerdictLogEvery      int
	Node                 string
	Region               string
	Pyroscope            PyroscopeConfig
}

// PyroscopeConfig configures continuous profiling; off when Server is "".
type PyroscopeConfig struct {
	Server   string
	User     string
	Password secret.Value
}

// TLS reports whether a certificate is configured.
func (c Config) TLS() bool { return c.TLSCert != "" }

// Validate turns Flags into a Config, or an error naming the bad setting.
func (f Flags) Validate() (Config, error) {
	c := Config{Store: f.Store, MasterKey: f.MasterKey, TLSCert: f.TLSCert, TLSKey: f.TLSKey, NonceTTL: f.NonceTTL,
		Issuer: f.Issuer, AndroidRoots: f.AndroidRoots, AppleRoots: f.AppleRoots, ReceiptTTL: f.ReceiptTTL,
		AndroidStatus: f.AndroidStatus, AndroidStatusCache: f.AndroidStatusCache, AndroidStatusRefresh: f.AndroidStatusRefresh,
		AndroidStatusMaxAge: f.AndroidStatusMaxAge, AndroidStatusFailClosed: f.AndroidStatusFail == "closed",
		SeedDemo: f.SeedDemo || f.Store == DefaultStoreURL, DrainDelay: f.DrainDelay,
		DrainTimeout: f.DrainTimeout, LogFormat: f.LogFormat, LogLevel: f.LogLevel, ReplayMax: f.ReplayMax,
		Limits: limit.Config{MaxInFlight: f.MaxInFlight, ProxyMaxInFlight: f.ProxyMaxInFlight,
			ProxyMaxInFlightPerDevice: f.ProxyMaxInFlightPerDevice, MaxQueueDelay: f.MaxQueueDelay, ChallengeRate: f.ChallengeRate, ChallengeBurst: f.ChallengeBurst,
			AttestRate: f.AttestRate, AttestBurst: f.AttestBurst},
		ProxyLeeway: f.ProxyLeeway, ProxyStreamTimeout: f.ProxyStreamTimeout,
		ProxyAuthority: f.ProxyAuthority, ProxySignatureWindow: f.ProxySignatureWindow,
		ReadTimeout: f.ReadTimeout, WriteTimeout: f.WriteTimeout, IdleTimeout: f.IdleTimeout,
		HTTP3MaxStreams: f.HTTP3MaxStreams, HTTP3MaxConnsPerIP: f.HTTP3MaxConnsPerIP,
		Snapshot: f.Snapshot, Etcd: f.Etcd, MaxStaleness: f.MaxStaleness, VerdictLogEvery: f.VerdictLogEvery,
		Node: f.Node, Region: f.Region,
		Pyroscope: PyroscopeConfig{Server: f.PyroscopeServer, User: f.PyroscopeUser, Password: secret.FromString(f.PyroscopePassword)}}
	if err := c.listeners(f); err != nil {
		return c, err
	}
	if err := f.validateValues(); err != nil {
		return c, err
	}
	if err := c.androidStatus(f); err != nil {
		return c, err
	}
	return c, nil
}

// androidStatus checks the status list settings (PROTOCOL.md §9).
func (c *Config) androidStatus(f Flags) error {
	switch f.AndroidStatusFail {
	case "open", "closed":
	default:
		return fmt.Errorf("--android-status-fail %q: must be open or closed", f.AndroidStatusFail)
	}
	if f.AndroidStatusRefresh < androidstatus.DefaultMinRefresh || f.AndroidStatusRefresh > 24*time.Hour {
		return fmt.Errorf("--android-status-refresh %v: must be %v to 24h", f.AndroidStatusRefresh, androidstatus.DefaultMinRefresh)
	}
	if f.AndroidStatusMaxAge < time.Minute || f.AndroidStatusMaxAge > 365*24*time.Hour {
		return fmt.Errorf("--android-status-max-age %v: must be 1m to 8760h", f.AndroidStatusMaxAge)
	}
	if f.AndroidStatus == "" {
		if f.AndroidStatusCache != "" {
			return errors.New("--android-status-cache needs --android-status (a URL)")
		}
		return nil
	}
	src, err := androidstatus.ParseSource(f.AndroidStatus)
	if err != nil {
		return fmt.Errorf("--android-status: %w", err)
	}
	if src.IsURL() && f.AndroidStatusMaxAge <= f.AndroidStatusRefresh {
		return fmt.Errorf("--android-status-max-age %v must be longer than --android-status-refresh %v: the list would be stale before its refresh",
			f.AndroidStatusMaxAge, f.AndroidStatusRefresh)
	}
	if !src.IsURL() && f.AndroidStatusCache != "" {
		return errors.New("--android-status-cache is for a URL: a file is its own cache")
	}
	return nil
}

func (c *Config) listeners(f Flags) error {
	var err error
	if f.Listen != "off" && f.Listen != "" {
		if c.Listen, err = hostPort("listen", f.Listen); err != nil {
			return err
		}
	}
	if c.AdminListen, err = hostPort("admin-listen", f.AdminListen); err != nil {
		return err
	}
	if f.TLSListen != "" {
		if c.TLSListen, err = hostPort("tls-listen", f.TLSListen); err != nil {
			return err
		}
	}
	if f.HTTP3Listen != "" {
		if c.HTTP3Listen, err = hostPort("http3-listen", f.HTTP3Listen); err != nil {
			return err
		}
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.HTTP3Listen != "" && f.TLSCert == "" {
		return errors.New("--http3-listen needs --tls-cert and --tls-key")
	}
	if f.TLSListen != "" && f.TLSCert == "" {
		return errors.New("--tls-listen needs --tls-cert and --tls-key")
	}
	if !c.Listen.IsValid() && !c.TLSListen.IsValid() {
		return errors.New("--listen is off and --tls-listen is not set: no public listener")
	}
	return nil
}

func (f Flags) validateValues() error {
	if f.NonceTTL < attest.MinNonceTTL || f.NonceTTL > attest.MaxNonceTTL {
		return fmt.Errorf("--nonce-ttl %v: must be %v to %v", f.NonceTTL, attest.MinNonceTTL, attest.MaxNonceTTL)
	}
	if strings.TrimSpace(f.Issuer) == "" {
		return errors.New("--issuer must not be empty")
	}
	if f.ReceiptTTL < time.Minute {
		return fmt.Errorf("--receipt-ttl %v: must be at least 1m", f.ReceiptTTL)
	}
	if f.DrainDelay < 0 || f.DrainTimeout <= 0 {
		return errors.New("--drain-delay must be >= 0 and --drain-timeout > 0")
	}
	switch f.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: must be text or json", f.LogFormat)
	}
	switch f.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", f.LogLevel)
	}
	if f.MaxStaleness <= 0 {
		return errors.New("--max-staleness must be positive")
	}
	if f.MaxInFlight < 0 || f.ProxyMaxInFlight < 0 || f.ProxyMaxInFlightPerDevice < 0 || f.MaxQueueDelay < 0 || f.ChallengeRate < 0 || f.AttestRate < 0 || f.ChallengeBurst < 0 || f.AttestBurst < 0 {
		return errors.New("--max-in-flight, --proxy-max-in-flight, --proxy-max-in-flight-per-device, --max-queue-delay, --challenge-rate, --challenge-burst, --attest-rate and --attest-burst must be >= 0")
	}
	if f.ProxyLeeway < 0 || f.ProxyLeeway > 5*time.Minute {
		return fmt.Errorf("--proxy-leeway %v: must be 0 to 5m", f.ProxyLeeway)
	}
	if err := f.validateBounds(); err != nil {
		return err
	}
	if f.ReplayMax < 1000 {
		return fmt.Errorf("--replay-max %d: must be at least 1000", f.ReplayMax)
	}
	if f.VerdictLogEvery < 0 {
		return fmt.Errorf("--verdict-log-every %d: must be >= 0", f.VerdictLogEvery)
	}
	if f.PyroscopeServer != "" && !strings.HasPrefix(f.PyroscopeServer, "http://") && !strings.HasPrefix(f.PyroscopeServer, "https://") {
		return fmt.Errorf("--pyroscope-server %q: want an http:// or https:// URL", f.PyroscopeServer)
	}
	return nil
}

// validateBounds checks the public listeners' timeouts and the HTTP/3
// bounds: each must be positive, and not so large that it bounds nothing.
func (f Flags) validateBounds() error {
	for _, d := range []struct {
		name      string
		v, lo, hi time.Duration
	}{
		{"read-timeout", f.ReadTimeout, time.Second, 10 * time.Minute},
		{"write-timeout", f.WriteTimeout, time.Second, 10 * time.Minute},
		{"idle-timeout", f.IdleTimeout, time.Second, time.Hour},
		{"proxy-stream-timeout", f.ProxyStreamTimeout, time.Second, 24 * time.Hour},
		{"proxy-signature-window", f.ProxySignatureWindow, time.Second, 10 * time.Minute},
	} {
		if d.v < d.lo || d.v > d.hi {
			return fmt.Errorf("--%s %v: must be %v to %v", d.name, d.v, d.lo, d.hi)
		}
	}
	if err := checkAuthority(f.ProxyAuthority); err != nil {
		return err
	}
	if f.HTTP3MaxStreams < 1 || f.HTTP3MaxStreams > 1000 {
		return fmt.Errorf("--http3-max-streams %d: must be 1 to 1000", f.HTTP3MaxStreams)
	}
	if f.HTTP3MaxConnsPerIP < 1 || f.HTTP3MaxConnsPerIP > 1<<16 {
		return fmt.Errorf("--http3-max-conns-per-ip %d: must be 1 to 65536", f.HTTP3MaxConnsPerIP)
	}
	return nil
}

// tlsMinVersion is the oldest TLS version served on TCP; Go prefers 1.3
// whenever the client offers it. HTTP/3 is always TLS 1.3.
const tlsMinVersion = tls.VersionTLS12

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

// checkAuthority checks --proxy-authority: empty, or a host with an
// optional port and nothing else (no scheme, user, path or query), as
// apps put it in @authority.
func checkAuthority(a string) error {
	if a == "" {
		return nil
	}
	u, err := url.Parse("//" + a)
	if err != nil || u.Host != a || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(a, " \t/@") || u.Hostname() == "" {
		return fmt.Errorf("--proxy-authority %q: want host or host:port, as apps address the edge (no scheme, path or user)", a)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("--proxy-authority %q: port %q is not 1 to 65535", a, p)
		}
	}
	return nil
}
