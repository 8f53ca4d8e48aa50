package testenv

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv/poll"
)

// RefusalLogged waits (up to 5 s) for the node's log (read by logs) to
// hold exactly one "store change refused" line for reason, and checks that
// it names the record key and says why (the record's problem after the
// key), and holds none of secrets, raw or encoded (base64, base64url,
// hex). It returns the line.
func RefusalLogged(t testing.TB, logs func() string, reason, key string, secrets ...[]byte) string {
	t.Helper()
	var lines []string
	refused := func() bool {
		lines = lines[:0]
		for _, l := range strings.Split(logs(), "\n") {
			if strings.Contains(l, `msg="store change refused`) && strings.Contains(l, "reason="+reason+" ") {
				lines = append(lines, l)
			}
		}
		return len(lines) > 0
	}
	poll.Until(t, 5*time.Second, "store change refused ("+reason+") logged", refused)
	if len(lines) != 1 {
		t.Fatalf("%d refusal lines for one refused change:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	l := lines[0]
	t.Logf("refusal logged: %s", l)
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, key+": ") || !strings.Contains(l, "next=") {
		t.Errorf("refusal line does not say which record (%s), why, and what to do: %s", key, l)
	}
	for _, s := range secrets {
		for _, enc := range []string{string(s), base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s),
			base64.RawURLEncoding.EncodeToString(s), hex.EncodeToString(s)} {
			if len(enc) >= 8 && strings.Contains(l, enc) {
				t.Errorf("refusal line holds a secret (%.4s…): %s", enc, l)
			}
		}
	}
	return l
}

// MasterKeys returns the raw keys of the master key file at path (lines
// <kid>:<base64>), for RefusalLogged to look for.
func MasterKeys(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for _, l := range strings.Split(string(b), "\n") {
		_, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("master key file %s: %v", path, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		t.Fatalf("master key file %s lists no key", path)
	}
	return keys
}
