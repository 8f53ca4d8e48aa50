package platformcheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store/open"
	"github.com/attestd/attestd/verify/devicekey"
	"github.com/attestd/attestd/verify/platformtest"
)

// node is a Checker over a real registry loaded from a file store, as the
// daemon builds it, trusting test Android and Apple roots.
type node struct {
	f       *testenv.Fixture
	st      *testenv.Store
	reg     *registry.Registry
	chk     *platformcheck.Checker
	android *platformtest.AndroidCA
	apple   *platformtest.AppleCA
}

func newNode(t testing.TB) *node {
	t.Helper()
	f := testenv.NewFixture(t)
	n := &node{f: f, st: testenv.NewStore(t, f)}
	reg, err := registry.New(registry.Config{Sealer: n.load(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	n.reg = reg
	n.load(t, reg)
	if n.android, err = platformtest.NewAndroidCA(); err != nil {
		t.Fatal(err)
	}
	if n.apple, err = platformtest.NewAppleCA(); err != nil {
		t.Fatal(err)
	}
	n.chk, err = platformcheck.New(platformcheck.Config{AndroidRoots: n.android.Roots(), AppleRoots: n.apple.Roots(), ReceiptTTL: time.Hour, Keys: reg})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// load reads the store and, when reg is not nil, swaps its snapshot in; it
// returns the store's sealer.
func (n *node) load(t testing.TB, reg *registry.Registry) state.Sealer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, sealer, err := open.Open(ctx, n.st.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		if err := reg.Swap(snap); err != nil {
			t.Fatal(err)
		}
	}
	return sealer
}

func (n *node) app(t testing.TB, id string) *registry.App {
	t.Helper()
	a, ok, err := n.reg.App([]byte(id))
	if err != nil || !ok {
		t.Fatalf("app %s: %v, %v", id, ok, err)
	}
	return a
}

// reregister imports the fixture's bundle with app id moved to platform,
// as an operator re-registering it under the same id would.
func (n *node) reregister(t *testing.T, id, platform string) {
	t.Helper()
	b := *n.f.Bundle
	b.Apps = slices.Clone(b.Apps)
	for i, a := range b.Apps {
		if a.ID == id {
			a.Platform, a.TeamID = platform, ""
			if platform == model.PlatformIOS {
				a.TeamID = testenv.TeamID
			}
			b.Apps[i] = a
		}
	}
	n.st.Import(t, &b)
	n.load(t, n.reg)
	if got := n.app(t, id).Platform; got != platform {
		t.Fatalf("app %s is %s after the import", id, got)
	}
}

type device struct {
	key *ecdsa.PrivateKey
	dk  devicekey.Key
}

func newDevice(t testing.TB) device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := devicekey.Parse(spki)
	if err != nil {
		t.Fatal(err)
	}
	return device{k, dk}
}

func (n *node) check(t *testing.T, app *registry.App, d device, nonce string, raw []byte) attest.PlatformResult {
	t.Helper()
	in := attest.PlatformInput{Raw: raw, App: app, Nonce: []byte(nonce), Device: d.dk, Now: time.Now()}
	copy(in.Signer[:], n.f.Signer)
	return n.chk.Check(context.Background(), in)
}

// enrol passes hardware evidence of app's platform and returns the receipt.
func (n *node) enrol(t *testing.T, id string, d device) string {
	t.Helper()
	app := n.app(t, id)
	const nonce = "v1.enrolment-nonce"
	var raw []byte
	var err error
	var signer [32]byte
	copy(signer[:], n.f.Signer)
	if app.Platform == model.PlatformIOS {
		raw, err = n.apple.AppleEvidence(&d.key.PublicKey, []byte(nonce), app.TeamID, id, false)
	} else {
		raw, err = n.android.AndroidEvidence(&d.key.PublicKey, []byte(nonce), id, signer)
	}
	if err != nil {
		t.Fatal(err)
	}
	res := n.check(t, app, d, nonce, raw)
	if !res.Verified || res.Receipt == "" {
		t.Fatalf("enrolment of %s: %+v", id, res)
	}
	return res.Receipt
}

func receiptJSON(r string) []byte {
	b, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": r})
	return b
}

// TestReceiptOfOtherPlatformRefused: a receipt names the format it was
// made from, and one whose format does not belong to the app's platform is
// platform_attestation_invalid (PROTOCOL.md §7 1.1). The app, its device
// and the MAC are genuine: the app was enrolled on one platform, then
// re-registered under the same id on the other.
func TestReceiptOfOtherPlatformRefused(t *testing.T) {
	n := newNode(t)
	for _, tc := range []struct{ app, from, to string }{
		{testenv.App, model.PlatformAndroid, model.PlatformIOS},    // an android-key receipt for an ios app
		{testenv.AppIOS, model.PlatformIOS, model.PlatformAndroid}, // an apple-appattest receipt for an android app
	} {
		t.Run(tc.app, func(t *testing.T) {
			d := newDevice(t)
			r := n.enrol(t, tc.app, d)
			if res := n.check(t, n.app(t, tc.app), d, "v1.later", receiptJSON(r)); !res.Verified {
				t.Fatalf("the receipt does not pass on its own platform: %+v", res)
			}
			n.reregister(t, tc.app, tc.to)
			res := n.check(t, n.app(t, tc.app), d, "v1.later", receiptJSON(r))
			want := []string{attest.ReasonPAInvalid, "receipt_platform"}
			if res.Verified || !slices.Equal(res.Reasons, want) || res.Receipt != "" {
				t.Fatalf("%s receipt for a %s app: %+v, want reasons %v", tc.from, tc.to, res, want)
			}
			n.reregister(t, tc.app, tc.from)
		})
	}
}
