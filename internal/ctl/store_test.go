package ctl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// raw runs fn on the store underneath attestctl's (writes without the
// master key, as an attacker or attestd 1.0 would).
func (e *env) raw(fn func(*store.Snapshot) (store.Changes, error)) {
	e.t.Helper()
	ctx := context.Background()
	st, _, err := open.Open(ctx, e.url, open.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.(*recordauth.Store).Unwrap().Update(ctx, fn); err != nil {
		e.t.Fatal(err)
	}
}

// downgrade turns the store into what attestd 1.0 wrote: the same
// records, no tags, no manifest.
func (e *env) downgrade() {
	e.raw(func(raw *store.Snapshot) (store.Changes, error) {
		ch := store.Changes{Put: map[string][]byte{}, Delete: []string{recordauth.ManifestKey}}
		for k, en := range recordauth.Strip(raw).Entries {
			ch.Put[k] = en.Value
		}
		return ch, nil
	})
}

func (e *env) report(r result) recordauth.Report {
	e.t.Helper()
	var rep recordauth.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("store verify output: %v\n%s", err, r.stdout)
	}
	return rep
}

// TestStoreAuthenticateUpgradesA10Store: a store written by attestd 1.0
// (no tags) is reported, refused by writers with the command to run;
// `store authenticate` lists what it would tag, then tags it with --yes;
// after that it verifies and writes work again.
func TestStoreAuthenticateUpgradesA10Store(t *testing.T) {
	e := lifecycleEnv(t)
	e.ok("store", "verify")
	e.downgrade()
	rep := e.report(e.fail(ExitFailure, []string{"store", "verify"}, "does not verify", "untagged"))
	if len(rep.Problems) != rep.Records+1 || rep.Records < 4 {
		t.Fatalf("report: %+v", rep)
	}
	e.fail(ExitFailure, []string{"ban", "add", digestB64u("dev")}, "not authenticated", "store authenticate")
	r := e.fail(ExitUsage, []string{"store", "authenticate"}, "nothing written", "apps/com.example.shop", "--yes")
	if r.stdout != "" {
		t.Fatalf("dry run printed %q", r.stdout)
	}
	if strings.Contains(string(e.stateBytes()), recordauth.TagMember) {
		t.Fatal("the dry run wrote tags")
	}
	e.ok("store", "authenticate", "--yes")
	if rep := e.report(e.ok("store", "verify")); len(rep.Problems) != 0 || rep.Generation == 0 {
		t.Fatalf("after: %+v", rep)
	}
	e.ok("ban", "add", digestB64u("dev"))
	if r := e.ok("store", "authenticate"); !strings.Contains(r.stdout, "nothing to do") {
		t.Fatalf("second run: %q", r.stdout)
	}
}

// TestStoreAuthenticateRefusesWrongMasterKey: tagging a store with a key
// file that does not open its secrets would tag everything under a key the
// nodes do not hold: refused, nothing written.
func TestStoreAuthenticateRefusesWrongMasterKey(t *testing.T) {
	e := lifecycleEnv(t)
	e.downgrade()
	before := e.stateBytes()
	other := newEnv(t)
	other.ok("init")
	e.fail(ExitFailure, []string{"--master-key", other.dir + "/master.key", "store", "authenticate", "--yes"}, "do not decode or open")
	if string(before) != string(e.stateBytes()) {
		t.Fatal("refused authenticate changed the store")
	}
}

// TestStoreRepairRemovesForgedRecords: an app written without the master
// key is reported as forged, read commands warn, writers refuse, plain
// authenticate refuses; --repair removes it (and only it).
func TestStoreRepairRemovesForgedRecords(t *testing.T) {
	e := lifecycleEnv(t)
	e.raw(func(raw *store.Snapshot) (store.Changes, error) {
		v, _ := raw.Get("apps/com.example.shop")
		forged := strings.Replace(string(v.Value), `"id":"com.example.shop"`, `"id":"com.evil"`, 1)
		return store.Changes{Put: map[string][]byte{"apps/com.evil": []byte(forged)}}, nil
	})
	rep := e.report(e.fail(ExitFailure, []string{"store", "verify"}, "1 forged"))
	if len(rep.Problems) != 1 || rep.Problems[0].Key != "apps/com.evil" || rep.Problems[0].Kind != recordauth.KindForged {
		t.Fatalf("report: %+v", rep)
	}
	if r := e.ok("list", "apps"); !strings.Contains(r.stderr, "warning: the store does not verify") {
		t.Fatalf("list on a forged store: stderr %q", r.stderr)
	}
	e.fail(ExitFailure, []string{"ban", "add", digestB64u("dev")}, "forged", "apps/com.evil")
	e.fail(ExitFailure, []string{"store", "authenticate", "--yes"}, "apps/com.evil", "--repair")
	e.fail(ExitUsage, []string{"store", "authenticate", "--repair"}, "1 removed (apps/com.evil)")
	e.ok("store", "authenticate", "--repair", "--yes")
	e.ok("store", "verify")
	if r := e.ok("list", "apps"); strings.Contains(r.stdout, "com.evil") || !strings.Contains(r.stdout, "com.example.shop") || r.stderr != "" {
		t.Fatalf("after repair: %s %s", r.stdout, r.stderr)
	}
}

// TestStoreAuthenticateDoesNotBlessUntaggedApp: an app written without a
// tag into an authenticated store is not "upgraded" by store
// authenticate: refused, and --repair removes it.
func TestStoreAuthenticateDoesNotBlessUntaggedApp(t *testing.T) {
	e := lifecycleEnv(t)
	e.raw(func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{"apps/com.evil": []byte(`{"id":"com.evil","account":"acme","platform":"android","signers":["x"]}`)}}, nil
	})
	e.fail(ExitFailure, []string{"store", "authenticate", "--yes"}, "apps/com.evil", "--repair")
	e.fail(ExitUsage, []string{"store", "authenticate", "--repair"}, "0 record(s) would be tagged", "1 removed (apps/com.evil)")
	e.ok("store", "authenticate", "--repair", "--yes")
	if r := e.ok("list", "apps"); strings.Contains(r.stdout, "com.evil") {
		t.Fatalf("the untagged app survived the repair: %s", r.stdout)
	}
}

// TestInitDemoIsAuthenticated: `init` and `init --demo` write
// authenticated records from the start.
func TestInitDemoIsAuthenticated(t *testing.T) {
	e := newEnv(t)
	e.ok("init", "--demo")
	if rep := e.report(e.ok("store", "verify")); rep.Generation < 1 || rep.Records < 3 || len(rep.Problems) != 0 {
		t.Fatalf("after init --demo: %+v", rep)
	}
}
