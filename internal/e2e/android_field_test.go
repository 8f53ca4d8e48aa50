package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

// statusServer is a real HTTP server on loopback that serves a status
// list in Google's format, changed by the test.
type statusServer struct {
	*httptest.Server
	body atomic.Pointer[string]
}

func newStatusServer(t *testing.T, body string) *statusServer {
	t.Helper()
	s := &statusServer{}
	s.set(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, *s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *statusServer) set(body string) { s.body.Store(&body) }

func revokedList(serial fmt.Formatter) string {
	return fmt.Sprintf(`{"entries":{"%x":{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}`, serial)
}

// receiptArc attests once on n with the receipt r for the device of c, and
// returns the answer's arc and platform_attestation.
func (p *platformEnv) receiptArc(t *testing.T, n *testenv.Node, c *client.Client, r string) (string, string) {
	t.Helper()
	cl := p.enrolling(t, n, testenv.AppStrict, client.Config{DeviceKey: c.DeviceKey()})
	res, err := cl.Attest(context.Background(), client.Evidence{PlatformAttestation: receiptBody(r)})
	if err != nil {
		t.Fatal(err)
	}
	return arcOf(t, res), res.PlatformAttestation
}

func (p *platformEnv) enrolArc(t *testing.T, n *testenv.Node) (string, *client.Result, *client.Client) {
	t.Helper()
	c := p.enrolling(t, n, testenv.AppStrict, client.Config{})
	res, err := c.Attest(context.Background(), client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	return arcOf(t, res), res, c
}

const revokedArc = "platform_attestation_invalid,android_revoked"

// TestReceiptFollowsRevocation: a node fetches the status list from a
// loopback server. A receipt issued while the list is empty passes; once
// the server's list revokes the chain's intermediate, the same receipt is
// refused (android_revoked) within one refresh, as a new enrolment is.
// The node then restarts with the server down and serves the list it
// cached.
func TestReceiptFollowsRevocation(t *testing.T) {
	p := newPlatformEnv(t)
	srv := newStatusServer(t, `{"entries":{}}`)
	cache := filepath.Join(t.TempDir(), "android-status.json")
	edit := func(c *daemon.Config) {
		p.edit(c)
		c.AndroidStatus, c.AndroidStatusCache, c.AndroidStatusRefresh = srv.URL+"/attestation/status", cache, 100*time.Millisecond
	}
	n := testenv.StartNode(t, p.s, testenv.Options{Edit: edit})
	arc, first, c := p.enrolArc(t, n)
	if arc != "" || first.Receipt == "" {
		t.Fatalf("enrolment under an empty list: arc %q, receipt %q", arc, first.Receipt)
	}
	if arc, _ := p.receiptArc(t, n, c, first.Receipt); arc != "" {
		t.Fatalf("receipt before the revocation: arc %q", arc)
	}

	srv.set(revokedList(p.android.Intermediate.SerialNumber))
	poll.Until(t, 15*time.Second, "the receipt refused once the server's list revoked its intermediate", func() bool {
		arc, pa := p.receiptArc(t, n, c, first.Receipt)
		if arc != "" && (arc != revokedArc || pa != "required") {
			t.Fatalf("receipt while the list is refreshed: arc %q, platform_attestation %q", arc, pa)
		}
		return arc == revokedArc
	})
	if arc, _, _ := p.enrolArc(t, n); arc != revokedArc {
		t.Fatalf("new enrolment through the revoked intermediate: arc %q", arc)
	}
	metrics := scrape(t, n)
	for _, want := range []string{"attestd_android_status_entries 1", `attestd_android_status_fetch_failures_total{reason="malformed"} 0`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	n.Stop(t)
	srv.Close()
	again := testenv.StartNode(t, p.s, testenv.Options{Edit: edit})
	if arc, _ := p.receiptArc(t, again, c, first.Receipt); arc != revokedArc {
		t.Fatalf("after a restart with the server down: arc %q, want the cached list's refusal", arc)
	}
	// It fetches at once, fails, and counts it.
	poll.Until(t, 10*time.Second, "the restarted node's failed fetch counted", func() bool {
		return !strings.Contains(scrape(t, again), `attestd_android_status_fetch_failures_total{reason="transport"} 0`+"\n")
	})
}

// TestStaleStatusListFailClosed: with --android-status-fail closed, once
// the node's clock puts the list past --android-status-max-age, android-key
// evidence and receipts are refused (android_status_stale), the age gauge
// shows it and the refusals are counted.
func TestStaleStatusListFailClosed(t *testing.T) {
	p := newPlatformEnv(t)
	srv := newStatusServer(t, `{"entries":{}}`)
	n := testenv.StartNode(t, p.s, testenv.Options{Edit: func(c *daemon.Config) {
		p.edit(c)
		c.AndroidStatus, c.AndroidStatusFailClosed = srv.URL, true
	}})
	arc, first, c := p.enrolArc(t, n)
	if arc != "" {
		t.Fatalf("enrolment under a fresh list: arc %q", arc)
	}
	n.Clock.Advance(25 * time.Hour) // the refresh timer runs on real time: no fetch comes
	const stale = "platform_attestation_invalid,android_status_stale"
	if arc, pa := p.receiptArc(t, n, c, first.Receipt); arc != stale || pa != "required" {
		t.Fatalf("receipt of a stale list: arc %q, platform_attestation %q", arc, pa)
	}
	if arc, _, _ := p.enrolArc(t, n); arc != stale {
		t.Fatalf("enrolment under a stale list: arc %q", arc)
	}
	m := scrape(t, n)
	for _, want := range []string{`attestd_android_status_stale_total{action="refused",use="evidence"} 1`,
		`attestd_android_status_stale_total{action="refused",use="receipt"} 1`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(m, "attestd_android_status_age_seconds 9") { // 25 h = 90000 s and a little
		t.Errorf("age gauge: %s", grepLines(m, "attestd_android_status_age_seconds"))
	}
}

func scrape(t *testing.T, n *testenv.Node) string {
	t.Helper()
	resp, err := http.Get(n.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestFieldPolicyOverNode: the §9 policy members imported in a bundle
// reach a running node: a device whose attested patch level is too old,
// whose version code is not the one registered for app.version, or whose
// self-signed boot key is not listed is refused with its reason; one that
// meets them enrols, and its receipt is refused, with the same reasons,
// once the policy is tightened past what it recorded (a patch age, then
// its boot key delisted).
func TestFieldPolicyOverNode(t *testing.T) {
	p := newPlatformEnv(t)
	bootKey := sha256.Sum256([]byte("an alternative OS's verified boot key"))
	days, osv := 90, int64(140000)
	policy := func(a *model.App) {
		a.Policy.AndroidMaxPatchAgeDays, a.Policy.AndroidMinOSVersion = &days, &osv
		a.Policy.AndroidAllowedBootKeys = []string{base64.StdEncoding.EncodeToString(bootKey[:])}
		a.VersionCodes = map[string]int64{testenv.Version: 421}
	}
	p.importStrict(t, policy)
	now := p.a.Clock.Now()
	patched := now.AddDate(0, -1, 0)
	leaf := func(mod func(*platformtest.AndroidLeaf)) func(*platformtest.AndroidLeaf) {
		return func(l *platformtest.AndroidLeaf) {
			l.OSVersion, l.VersionCode = 150000, 421
			l.OSPatchLevel = int64(patched.Year()*100 + int(patched.Month()))
			l.BootState, l.BootKey = androidkey.BootSelfSigned, bootKey[:]
			if mod != nil {
				mod(l)
			}
		}
	}
	old := now.AddDate(0, -5, 0)
	// The nodes apply the import within 2 s: until then the listed boot
	// key is not, and a self-signed boot is refused.
	for _, n := range []*testenv.Node{p.a, p.b} {
		poll.Until(t, 5*time.Second, "the imported policy in force", func() bool {
			r, err := p.enrollingLeaf(t, n, leaf(nil)).Attest(context.Background(), client.Evidence{})
			if err != nil {
				t.Fatal(err)
			}
			return arcOf(t, r) == ""
		})
	}
	var passed string
	var passedBy *client.Client
	for _, tc := range []struct {
		name string
		mod  func(*platformtest.AndroidLeaf)
		arc  string
	}{
		{"pass", nil, ""},
		{"patch-too-old", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel = int64(old.Year()*100 + int(old.Month())) }, "platform_attestation_invalid,android_patch_level"},
		{"os-too-old", func(l *platformtest.AndroidLeaf) { l.OSVersion = 130000 }, "platform_attestation_invalid,android_os_version"},
		{"other-version-code", func(l *platformtest.AndroidLeaf) { l.VersionCode = 420 }, "platform_attestation_invalid,android_version_code"},
		{"unlisted-boot-key", func(l *platformtest.AndroidLeaf) { l.BootKey = make([]byte, 32) }, "platform_attestation_invalid,android_boot_key"},
		{"self-signed-unlocked", func(l *platformtest.AndroidLeaf) { l.Unlocked = true }, "platform_attestation_invalid,android_boot_state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := p.enrollingLeaf(t, p.a, leaf(tc.mod))
			r, err := c.Attest(context.Background(), client.Evidence{})
			if err != nil {
				t.Fatal(err)
			}
			if arc := arcOf(t, r); arc != tc.arc {
				t.Fatalf("arc %q, want %q", arc, tc.arc)
			}
			if tc.arc == "" {
				passed, passedBy = r.Receipt, c
			}
		})
	}
	if passed == "" {
		t.Fatal("no receipt to check")
	}
	// Tighten the patch age past what the receipt recorded.
	week := 7
	p.importStrict(t, func(a *model.App) { policy(a); a.Policy.AndroidMaxPatchAgeDays = &week })
	poll.Until(t, 5*time.Second, "android_patch_level for a receipt under a 7-day patch policy", func() bool {
		arc, pa := p.receiptArc(t, p.b, passedBy, passed)
		if arc != "" && (arc != "platform_attestation_invalid,android_patch_level" || pa != "required") {
			t.Fatalf("receipt under a 7-day patch policy: arc %q", arc)
		}
		return arc != ""
	})
	// Delist the receipt's boot key (the patch age as it was): the boot
	// key's own reason, as on evidence.
	other := sha256.Sum256([]byte("another verified boot key"))
	p.importStrict(t, func(a *model.App) {
		policy(a)
		a.Policy.AndroidAllowedBootKeys = []string{base64.StdEncoding.EncodeToString(other[:])}
	})
	poll.Until(t, 5*time.Second, "android_boot_key for a receipt whose boot key is delisted", func() bool {
		arc, pa := p.receiptArc(t, p.b, passedBy, passed)
		if arc != "platform_attestation_invalid,android_patch_level" && arc != "platform_attestation_invalid,android_boot_key" {
			t.Fatalf("receipt whose boot key is delisted: arc %q", arc)
		}
		return arc == "platform_attestation_invalid,android_boot_key" && pa == "required"
	})
}

// importStrict imports the fixture's strict app with mod applied.
func (p *platformEnv) importStrict(t *testing.T, mod func(*model.App)) {
	t.Helper()
	b := &model.Bundle{}
	for _, a := range p.f.Bundle.Apps {
		if a.ID == testenv.AppStrict {
			mod(&a)
			b.Apps = append(b.Apps, a)
		}
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	p.s.Import(t, b)
}

// enrollingLeaf is enrolling with the leaf that mod shapes.
func (p *platformEnv) enrollingLeaf(t *testing.T, n *testenv.Node, mod func(*platformtest.AndroidLeaf)) *client.Client {
	t.Helper()
	var c *client.Client
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	cfg := client.Config{BaseURL: n.Base, App: p.f.ClientApp(testenv.AppStrict), Now: n.Clock.Now,
		Enroll: func(_ context.Context, nonce string) (json.RawMessage, error) {
			l := platformtest.AndroidLeaf{DeviceKey: &c.DeviceKey().PublicKey, Challenge: platformtest.AndroidChallenge([]byte(nonce)),
				Package: testenv.AppStrict, Signer: signer}
			mod(&l)
			return p.android.LeafEvidence(l)
		}}
	var err error
	if c, err = client.New(cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReceiptFollowsRevocationFromFile: the same with the list in a file
// (re-read when it changes): a receipt issued before the file revoked its
// intermediate is refused after it. (The previous main kept accepting
// it: receipts were never checked against the list.)
func TestReceiptFollowsRevocationFromFile(t *testing.T) {
	p := newPlatformEnv(t)
	status := filepath.Join(t.TempDir(), "status.json")
	if err := os.WriteFile(status, []byte(`{"entries":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := testenv.StartNode(t, p.s, testenv.Options{Edit: func(c *daemon.Config) { p.edit(c); c.AndroidStatus = status }})
	arc, first, c := p.enrolArc(t, n)
	if arc != "" {
		t.Fatalf("enrolment: arc %q", arc)
	}
	if err := os.WriteFile(status, []byte(revokedList(p.android.Intermediate.SerialNumber)), 0o600); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 15*time.Second, "the receipt refused once the file revoked its intermediate", func() bool {
		arc, _ := p.receiptArc(t, n, c, first.Receipt)
		if arc != "" && arc != revokedArc {
			t.Fatalf("receipt after the file revoked its intermediate: arc %q", arc)
		}
		return arc == revokedArc
	})
}
