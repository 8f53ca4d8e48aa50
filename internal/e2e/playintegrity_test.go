package e2e

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// playEnv is a node whose strict app (platform attestation required) has
// Play Integrity keys; iss is Play, holding them.
type playEnv struct {
	f    *testenv.Fixture
	node *testenv.Node
	iss  *playtest.Issuer
}

func newPlayEnv(t *testing.T) *playEnv { return newPlayEnvOpts(t, testenv.Options{}) }

func newPlayEnvOpts(t *testing.T, o testenv.Options) *playEnv {
	t.Helper()
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	f := testenv.NewFixture(t)
	for i := range f.Bundle.Apps {
		if f.Bundle.Apps[i].ID == testenv.AppStrict {
			f.Bundle.Apps[i].PlayIntegrity = &model.PlayIntegrity{PlayKeys: model.PlayKeys{
				DecryptionKey: secret.FromString(iss.DecryptionKeyB64()), VerificationKey: secret.FromString(iss.VerificationKeyB64())}}
		}
	}
	return &playEnv{f: f, node: testenv.StartNode(t, testenv.NewStore(t, f), o), iss: iss}
}

// client is a client of the strict app whose Play hook answers like Play
// for whatever nonce it is asked, with the verdict edited by edit; calls
// counts the hook's calls.
func (p *playEnv) client(t *testing.T, edit func(*playtest.Verdict), calls *int) *client.Client {
	t.Helper()
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	c, err := client.New(client.Config{BaseURL: p.node.Base, App: p.f.ClientApp(testenv.AppStrict), Now: p.node.Clock.Now,
		PlayIntegrity: func(_ context.Context, playNonce string) (string, error) {
			if calls != nil {
				*calls++
			}
			v := playtest.Pass(testenv.AppStrict, signer, nil, nil, p.node.Clock.Now())
			v.Nonce = playNonce
			if edit != nil {
				edit(&v)
			}
			return p.iss.Token(v.JSON())
		}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlayIntegrityOverARealNode: a device enrols with a Play Integrity
// token through the SDK's hook, gets a real token and a receipt, and then
// attests with the receipt without asking Play again.
func TestPlayIntegrityOverARealNode(t *testing.T) {
	p := newPlayEnv(t)
	ctx := context.Background()
	calls := 0
	c := p.client(t, nil, &calls)
	first, err := c.Attest(ctx, client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyHS(first.Token, p.f.HSKey, testenv.Account); err != nil {
		t.Fatalf("the Play Integrity enrolment did not pass: %v (arc %q)", err, arcOf(t, first))
	}
	if first.Receipt == "" || first.PlatformAttestation != "" || calls != 1 {
		t.Fatalf("receipt %q, platform_attestation %q, hook calls %d", first.Receipt, first.PlatformAttestation, calls)
	}
	again, err := c.Attest(ctx, client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyHS(again.Token, p.f.HSKey, testenv.Account); err != nil || calls != 1 || again.Receipt != "" {
		t.Fatalf("attest on the receipt: %v, hook calls %d, new receipt %q", err, calls, again.Receipt)
	}
}

// TestPlayIntegrityAttacksOverARealNode: a token made for another app, a
// stolen token replayed from another device, a stale token and an
// unrecognized app fail with their reasons and "required"; an attest body
// carrying a genuine token is refused the second time (nonce_replayed).
func TestPlayIntegrityAttacksOverARealNode(t *testing.T) {
	p := newPlayEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*playtest.Verdict)
		arc  string
	}{
		{"token-for-another-app", func(v *playtest.Verdict) { v.PackageName, v.RequestPackageName = "com.evil.app", "com.evil.app" }, "platform_attestation_invalid,play_app"},
		{"stale-token", func(v *playtest.Verdict) { v.Timestamp = p.node.Clock.Now().Add(-10 * time.Minute) }, "platform_attestation_invalid,play_stale"},
		{"unrecognized-app", func(v *playtest.Verdict) { v.AppRecognition = "UNRECOGNIZED_VERSION" }, "platform_attestation_invalid,play_app"},
		{"basic-integrity-only", func(v *playtest.Verdict) { v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY"} }, "platform_attestation_invalid,play_device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.client(t, tc.edit, nil).Attest(ctx, client.Evidence{})
			if err != nil {
				t.Fatal(err)
			}
			if arc := arcOf(t, r); arc != tc.arc || r.PlatformAttestation != "required" || r.Receipt != "" {
				t.Fatalf("arc %q, platform_attestation %q, receipt %q; want arc %q and required", arc, r.PlatformAttestation, r.Receipt, tc.arc)
			}
			if _, err := verifyHS(r.Token, p.f.HSKey, testenv.Account); err == nil {
				t.Fatal("a refused verdict verifies with the account's key")
			}
		})
	}

	t.Run("stolen-token-on-another-device", func(t *testing.T) {
		// The victim's app asks Play for a token for its nonce and key; the
		// attacker takes it and sends it from its own device, on its own
		// challenge or on the victim's.
		var stolen string
		victim := p.client(t, nil, nil)
		thief := p.client(t, nil, nil)
		e := &env{t: t, f: p.f, node: p.node, tr: Transport{HTTP: &http.Client{Timeout: 10 * time.Second}}}
		nonce := e.nonce(victim)
		ev, err := victimEvidence(ctx, victim, p, nonce)
		if err != nil {
			t.Fatal(err)
		}
		stolen = string(ev)
		for _, n := range []string{nonce, e.nonce(thief)} {
			v := decodeVerdict(t, e.attest(thief, e.body(thief, n, client.Evidence{PlatformAttestation: []byte(stolen)})))
			if arc := *unverifiedClaims(t, v.Token).Arc; arc != "platform_attestation_invalid,play_nonce" || v.PlatformAttestation != "required" {
				t.Fatalf("stolen token: arc %q, platform_attestation %q", arc, v.PlatformAttestation)
			}
		}
	})

	t.Run("attest-replayed", func(t *testing.T) {
		c := p.client(t, nil, nil)
		e := &env{t: t, f: p.f, node: p.node, tr: Transport{HTTP: &http.Client{Timeout: 10 * time.Second}}}
		nonce := e.nonce(c)
		ev, err := victimEvidence(ctx, c, p, nonce)
		if err != nil {
			t.Fatal(err)
		}
		body := e.body(c, nonce, client.Evidence{PlatformAttestation: ev})
		if v := decodeVerdict(t, e.attest(c, body)); v.Receipt == "" {
			t.Fatalf("first use: %+v", v)
		}
		if a := e.attest(c, body); a.status != http.StatusUnauthorized || a.errorCode(t) != "nonce_replayed" {
			t.Fatalf("replayed attest: %d %s", a.status, a.body)
		}
	})
}

// victimEvidence is what c's Play hook gives for nonce: the
// platform_attestation object c would send.
func victimEvidence(ctx context.Context, c *client.Client, p *playEnv, nonce string) ([]byte, error) {
	pn, err := c.PlayIntegrityNonce(nonce)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&c.DeviceKey().PublicKey)
	if err != nil {
		return nil, err
	}
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	v := playtest.Pass(testenv.AppStrict, signer, []byte(nonce), spki, p.node.Clock.Now())
	if v.Nonce != pn {
		return nil, errors.New("the client's Play nonce is not the verifier's")
	}
	tok, err := p.iss.Token(v.JSON())
	if err != nil {
		return nil, err
	}
	return client.PlayIntegrityEvidence(tok), nil
}

// TestPlayIntegrityKeysNeverLeave: the app's Play keys appear in no log
// line (at debug level), no answer and no metric, whether tokens pass or
// fail.
func TestPlayIntegrityKeysNeverLeave(t *testing.T) {
	var logs logbuf.Buffer
	p := newPlayEnvOpts(t, testenv.Options{Log: &logs, LogLevel: "debug"})
	ctx := context.Background()
	var seen []string
	for _, edit := range []func(*playtest.Verdict){nil, func(v *playtest.Verdict) { v.Nonce = "AAAA" }} {
		r, err := p.client(t, edit, nil).Attest(ctx, client.Evidence{WantSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, r.Token, r.Receipt, r.Secrets)
	}
	other, _ := playtest.NewIssuer()
	wrong := &playEnv{f: p.f, node: p.node, iss: other}
	if _, err := wrong.client(t, nil, nil).Attest(ctx, client.Evidence{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(p.node.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `reason="play_keys"`) || !strings.Contains(string(metrics), `reason="play_nonce"`) {
		t.Errorf("the Play reasons are not counted:\n%s", metrics)
	}
	seen = append(seen, string(metrics), logs.String())
	needles := []string{p.iss.DecryptionKeyB64(), base64.RawURLEncoding.EncodeToString(p.iss.DecryptionKey),
		hex.EncodeToString(p.iss.DecryptionKey), p.iss.VerificationKeyB64()[:40]}
	for _, out := range seen {
		for _, n := range needles {
			if strings.Contains(out, n) {
				t.Fatalf("a Play Integrity key left the node: %q", n)
			}
		}
	}
	if logs.String() == "" {
		t.Fatal("no log lines to search")
	}
}
