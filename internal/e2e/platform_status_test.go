package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
)

// TestAndroidStatusListFollowed: a node given --android-status re-reads the
// file while it runs. Once the list names a certificate of the chain, a new
// enrolment through it is refused (android_revoked); a list that does not
// parse is logged and the previous one kept (fail closed).
func TestAndroidStatusListFollowed(t *testing.T) {
	p := newPlatformEnv(t)
	status := filepath.Join(t.TempDir(), "status.json")
	if err := os.WriteFile(status, []byte(`{"entries":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	n := testenv.StartNode(t, p.s, testenv.Options{Log: logs, Edit: func(c *daemon.Config) {
		p.edit(c)
		c.AndroidStatus = status
	}})
	enrol := func() string {
		t.Helper()
		r, err := p.enrolling(t, n, testenv.AppStrict, client.Config{}).Attest(context.Background(), client.Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		return arcOf(t, r)
	}
	if arc := enrol(); arc != "" {
		t.Fatalf("enrolment under an empty status list: arc %q", arc)
	}

	revoked := fmt.Sprintf(`{"entries":{"%x":{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}`, p.android.Intermediate.SerialNumber)
	if err := os.WriteFile(status, []byte(revoked), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := func(arc string) bool {
		return strings.HasPrefix(arc, "platform_attestation_invalid") && strings.Contains(arc, "android_revoked")
	}
	deadline := time.Now().Add(15 * time.Second)
	for arc := enrol(); !refused(arc); arc = enrol() {
		if arc != "" {
			t.Fatalf("enrolment while the list is reloaded: arc %q", arc)
		}
		if time.Now().After(deadline) {
			t.Fatal("the revoked intermediate still enrols 15 s after the list named it")
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := os.WriteFile(status, []byte(`{"entries":`), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "android status list does not parse") {
		if time.Now().After(deadline) {
			t.Fatal("a list that does not parse was not reported within 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if arc := enrol(); !refused(arc) {
		t.Fatalf("after a list that does not parse: arc %q, want the previous list kept", arc)
	}
}
