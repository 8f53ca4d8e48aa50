package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/verify/platformtest"
)

// platformEnv is a deployment of two nodes trusting test roots.
type platformEnv struct {
	f       *testenv.Fixture
	s       *testenv.Store
	a, b    *testenv.Node
	android *platformtest.AndroidCA
	apple   *platformtest.AppleCA
	edit    func(*daemon.Config) // the test roots
}

func newPlatformEnv(t *testing.T) *platformEnv {
	t.Helper()
	p := &platformEnv{f: testenv.NewFixture(t)}
	var err error
	if p.android, err = platformtest.NewAndroidCA(); err != nil {
		t.Fatal(err)
	}
	if p.apple, err = platformtest.NewAppleCA(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	androidPEM, applePEM := filepath.Join(dir, "android.pem"), filepath.Join(dir, "apple.pem")
	os.WriteFile(androidPEM, p.android.RootPEM(), 0o600)
	os.WriteFile(applePEM, p.apple.RootPEM(), 0o600)
	p.s = testenv.NewStore(t, p.f)
	p.edit = func(c *daemon.Config) { c.AndroidRoots, c.AppleRoots = androidPEM, applePEM }
	p.a = testenv.StartNode(t, p.s, testenv.Options{Edit: p.edit})
	p.b = testenv.StartNode(t, p.s, testenv.Options{Edit: p.edit})
	return p
}

// enrolling returns a client of app on node n that enrols with test evidence.
func (p *platformEnv) enrolling(t *testing.T, n *testenv.Node, app string, cfg client.Config) *client.Client {
	t.Helper()
	cfg.BaseURL, cfg.App, cfg.Now = n.Base, p.f.ClientApp(app), n.Clock.Now
	var c *client.Client
	cfg.Enroll = func(_ context.Context, nonce string) (json.RawMessage, error) {
		dev := &c.DeviceKey().PublicKey
		if app == testenv.AppIOS {
			return p.apple.AppleEvidence(dev, []byte(nonce), testenv.TeamID, app, false)
		}
		var signer [32]byte
		copy(signer[:], p.f.Signer)
		return p.android.AndroidEvidence(dev, []byte(nonce), app, signer)
	}
	var err error
	if c, err = client.New(cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

func arcOf(t *testing.T, r *client.Result) string {
	t.Helper()
	cl := unverifiedClaims(t, r.Token)
	if cl.Arc == nil {
		t.Fatal("no arc")
	}
	return *cl.Arc
}

func receiptBody(r string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": r})
	return b
}

func TestPlatformEnrolmentAndReceipts(t *testing.T) {
	p := newPlatformEnv(t)
	ctx := context.Background()
	c := p.enrolling(t, p.a, testenv.AppStrict, client.Config{})
	first, err := c.Attest(ctx, client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	if arc := arcOf(t, first); arc != "" || first.Receipt == "" || first.PlatformAttestation != "" {
		t.Fatalf("enrolment: arc %q receipt %q pa %q", arc, first.Receipt, first.PlatformAttestation)
	}
	// The receipt stands for the evidence on another node, and issues none.
	onB := p.enrolling(t, p.b, testenv.AppStrict, client.Config{DeviceKey: c.DeviceKey()})
	r, err := onB.Attest(ctx, client.Evidence{PlatformAttestation: receiptBody(first.Receipt)})
	if err != nil {
		t.Fatal(err)
	}
	if arc := arcOf(t, r); arc != "" || r.Receipt != "" {
		t.Fatalf("receipt on node B: arc %q, new receipt %q", arc, r.Receipt)
	}
	// The client keeps its receipt and sends it by itself.
	if again, err := c.Attest(ctx, client.Evidence{}); err != nil || arcOf(t, again) != "" || again.Receipt != "" {
		t.Fatalf("second attest with the kept receipt: %v %+v", err, again)
	}

	cases := []struct {
		name     string
		app      string
		key      bool // use another device key
		receipt  string
		arc      string
		required bool
	}{
		{name: "tampered", app: testenv.AppStrict, receipt: tamper(first.Receipt), arc: "platform_attestation_invalid", required: true},
		{name: "another-device", app: testenv.AppStrict, key: true, receipt: first.Receipt, arc: "platform_attestation_invalid", required: true},
		{name: "another-app", app: testenv.App, receipt: first.Receipt, arc: "platform_attestation_invalid"},
		{name: "garbage", app: testenv.App, receipt: "r1.x.y.z", arc: "platform_attestation_invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := client.Config{DeviceKey: c.DeviceKey()}
			if tc.key {
				cfg.DeviceKey = nil
			}
			cl := p.enrolling(t, p.b, tc.app, cfg)
			r, err := cl.Attest(ctx, client.Evidence{PlatformAttestation: receiptBody(tc.receipt)})
			if err != nil {
				t.Fatal(err)
			}
			if arc := arcOf(t, r); !arcMatches(arc, tc.arc) {
				t.Fatalf("arc %q, want %q", arc, tc.arc)
			}
			if (r.PlatformAttestation == "required") != tc.required {
				t.Fatalf("platform_attestation %q, required %v", r.PlatformAttestation, tc.required)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		// On a node of its own: moving a node's clock a month ahead and
		// back leaves its replay set refusing the nonces it dropped.
		later := testenv.StartNode(t, p.s, testenv.Options{Edit: p.edit})
		later.Clock.Advance(31 * 24 * time.Hour)
		onLater := p.enrolling(t, later, testenv.AppStrict, client.Config{DeviceKey: c.DeviceKey()})
		r, err := onLater.Attest(ctx, client.Evidence{PlatformAttestation: receiptBody(first.Receipt)})
		if err != nil {
			t.Fatal(err)
		}
		if arc := arcOf(t, r); arc != "platform_attestation_expired" || r.PlatformAttestation != "required" {
			t.Fatalf("arc %q pa %q", arc, r.PlatformAttestation)
		}
	})

	t.Run("policy-tightened", func(t *testing.T) {
		b := &model.Bundle{Apps: []model.App{}}
		for _, a := range p.f.Bundle.Apps {
			if a.ID == testenv.AppStrict {
				a.Policy.AndroidMinSecurity = "strongbox"
				b.Apps = append(b.Apps, a)
			}
		}
		p.s.Import(t, b)
		var r *client.Result
		if !poll.For(2*time.Second, func() bool {
			var err error
			if r, err = onB.Attest(ctx, client.Evidence{PlatformAttestation: receiptBody(first.Receipt)}); err != nil {
				t.Fatal(err)
			}
			return arcOf(t, r) != ""
		}) {
			t.Fatal("a TEE receipt still passes a strongbox policy after 2 s")
		}
		if arc := arcOf(t, r); !strings.HasPrefix(arc, "platform_attestation_invalid") || r.PlatformAttestation != "required" {
			t.Fatalf("arc %q pa %q", arc, r.PlatformAttestation)
		}
	})
}

func TestPlatformAppleEnrolment(t *testing.T) {
	p := newPlatformEnv(t)
	c := p.enrolling(t, p.a, testenv.AppIOS, client.Config{})
	r, err := c.Attest(context.Background(), client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	if arc := arcOf(t, r); arc != "" || r.Receipt == "" {
		t.Fatalf("App Attest enrolment: arc %q receipt %q", arc, r.Receipt)
	}
	// Evidence bound to another nonce does not verify.
	stale, err := p.apple.AppleEvidence(&c.DeviceKey().PublicKey, []byte("another nonce"), testenv.TeamID, testenv.AppIOS, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err = c.Attest(context.Background(), client.Evidence{PlatformAttestation: stale})
	if err != nil {
		t.Fatal(err)
	}
	if arc := arcOf(t, r); !strings.HasPrefix(arc, "platform_attestation_invalid,apple_nonce") {
		t.Fatalf("arc %q", arc)
	}
}

func tamper(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
