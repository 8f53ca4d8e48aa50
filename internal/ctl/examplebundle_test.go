package ctl

import (
	"encoding/base64"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

// exampleBundle is the bundle the docs tell a new user to import.
const exampleBundle = "../../examples/bundle.json"

// TestExampleBundleImportsOnDemoStore runs what docs/app-registration.md
// and the README tell a new user to run: `attestctl import
// examples/bundle.json` on a store seeded with the demo. The example must
// import as it is, apply whole (every field as written), leave the demo
// alone, and import again as a no-op; so the shipped example never rots.
func TestExampleBundleImportsOnDemoStore(t *testing.T) {
	raw, err := os.ReadFile(exampleBundle)
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.DecodeBundle(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("examples/bundle.json does not decode strictly: %v", err)
	}
	if len(want.Accounts) != 1 || len(want.Apps) != 1 || want.Bans != nil {
		t.Fatalf("the example must name one account and one app and no ban list (importing a ban list replaces the deployment's): %+v", want)
	}

	e := newEnv(t)
	e.ok("init", "--demo")
	r := e.ok("import", exampleBundle)
	if !strings.Contains(r.stdout, "imported 1 account(s), 1 app(s)") {
		t.Fatalf("import said %q", r.stdout)
	}
	if r := e.ok("import", exampleBundle); !strings.Contains(r.stdout, "nothing to change") {
		t.Errorf("a second import said %q, want nothing to change", r.stdout)
	}

	got, err := model.DecodeBundle(strings.NewReader(e.ok("export", "--reveal-secrets").stdout))
	if err != nil {
		t.Fatal(err)
	}
	accounts := map[string]model.Account{}
	for _, a := range got.Accounts {
		accounts[a.ID] = a
	}
	apps := map[string]model.App{}
	for _, a := range got.Apps {
		apps[a.ID] = a
	}
	if _, ok := accounts["demo"]; !ok {
		t.Error("the demo account is gone after importing the example")
	}
	if _, ok := apps["com.example.demo"]; !ok {
		t.Error("the demo app is gone after importing the example")
	}
	if a := accounts[want.Accounts[0].ID]; !reflect.DeepEqual(a, want.Accounts[0]) {
		t.Errorf("stored account differs from examples/bundle.json:\n got %+v\nwant %+v", a, want.Accounts[0])
	}
	if a := apps[want.Apps[0].ID]; !reflect.DeepEqual(a, want.Apps[0]) {
		t.Errorf("stored app differs from examples/bundle.json:\n got %+v\nwant %+v", a, want.Apps[0])
	}
}

// TestExampleBundleKeyMaterialSaysExample keeps the promise of the docs:
// every secret in the shipped example says it is an example, so nobody
// mistakes it for a key to deploy.
func TestExampleBundleKeyMaterialSaysExample(t *testing.T) {
	raw, err := os.ReadFile(exampleBundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.DecodeBundle(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range b.Accounts {
		for _, k := range a.Keys {
			if k.Alg != model.AlgHS256 {
				t.Errorf("key %s: %s; the example's keys are HS256 secrets that read as text", k.KID, k.Alg)
				continue
			}
			dec, err := base64.StdEncoding.DecodeString(string(k.Secret.Reveal()))
			if err != nil || !strings.Contains(string(dec), "example") {
				t.Errorf("key %s: its secret does not decode to text saying it is an example", k.KID)
			}
		}
		for _, s := range a.Secrets {
			if !strings.Contains(string(s.Value.Reveal()), "example") {
				t.Errorf("secret %s: its value does not say it is an example", s.Name)
			}
		}
	}
}
