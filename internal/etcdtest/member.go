package etcdtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// envMember, set in a child's environment, makes Main run one etcd member
// (its JSON memberSpec) instead of the tests.
const envMember = "ATTESTD_ETCDTEST_MEMBER"

// readyLine is what a member prints on standard output once it serves.
const readyLine = "etcdtest: ready"

// memberSpec is everything a member process needs; the same spec restarts
// the member on the same data directory and ports.
type memberSpec struct {
	Name           string `json:"name"`
	Dir            string `json:"dir"`
	ClientURL      string `json:"client_url"`
	PeerURL        string `json:"peer_url"`
	InitialCluster string `json:"initial_cluster"`
	Token          string `json:"token"`
	// TLS files of the client listener (client certificates required).
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	CAFile   string `json:"ca_file,omitempty"`
}

func (s memberSpec) config() (*embed.Config, error) {
	cu, err := url.Parse(s.ClientURL)
	if err != nil {
		return nil, err
	}
	pu, err := url.Parse(s.PeerURL)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = s.Name, s.Dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster, cfg.InitialClusterToken = s.InitialCluster, s.Token
	cfg.LogLevel, cfg.LogOutputs = "warn", []string{"stderr"}
	// A test cluster on a loaded 2-core machine (with -race): a slightly
	// longer election timeout than the default avoids spurious elections.
	cfg.TickMs, cfg.ElectionMs = 100, 1500
	// fsync protects against power loss, not against a killed process
	// (the kernel keeps what was written); tests only kill processes.
	cfg.UnsafeNoFsync = true
	// Password hashing at the production cost takes seconds under -race.
	cfg.BcryptCost = 4
	if s.CertFile != "" {
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: s.CertFile, KeyFile: s.KeyFile, TrustedCAFile: s.CAFile, ClientCertAuth: true}
	}
	return cfg, nil
}

// runMember runs one member until SIGTERM (graceful stop), SIGKILL, or the
// parent going away (standard input closes). It returns the exit code.
func runMember(specJSON string) int {
	var spec memberSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest: member spec:", err)
		return 2
	}
	cfg, err := spec.config()
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest: member config:", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3) // the test process is gone
	}()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest: start:", err)
		return 1
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintln(os.Stdout, readyLine)
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest: member failed before ready:", err)
		return 1
	case <-sig:
		return stop(e)
	}
	select {
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest: member failed:", err)
		return 1
	case <-sig:
		return stop(e)
	}
}

func stop(e *embed.Etcd) int {
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
		return 0
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "etcdtest: graceful stop timed out")
		return 1
	}
}
