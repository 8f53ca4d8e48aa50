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
	"github.com/attestd/attestd/internal/testenv/logbuf"
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
	logs := &logbuf.Buffer{}
	n := testenv.StartNode(t, p.s, testenv.Options{Log: logs, LogLevel: "info", Edit: func(c *daemon.Config) {
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
	logs.WaitFor(t, 15*time.Second, "entries=1 fetched=") // "android status list installed", the revoking list
	if arc := enrol(); !refused(arc) {
		t.Fatalf("the revoked intermediate enrols once the list naming it is reloaded: arc %q", arc)
	}

	if err := os.WriteFile(status, []byte(`{"entries":`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs.WaitFor(t, 15*time.Second, "android status list does not parse")
	if arc := enrol(); !refused(arc) {
		t.Fatalf("after a list that does not parse: arc %q, want the previous list kept", arc)
	}
}
