package ctl

import (
	"encoding/json"
	"strings"
	"testing"
)

// apiList runs api list and decodes it.
func (e *env) apiList(account string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.ok("api", "list", account).stdout), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestAPIPutDoesNotSilentlyDropRequireSignature: api put replaces an API
// whole; it used to have no --require-signature and so turned the
// requirement off on every put, making stolen pop tokens usable as bearer
// tokens again. A put that does not state a security setting the stored
// API has on is refused and changes nothing; stating it keeps it or turns
// it off; api list shows both settings.
func TestAPIPutDoesNotSilentlyDropRequireSignature(t *testing.T) {
	e := newEnv(t)
	e.ok("account", "add", "acme")
	e.runIn("v", "secret", "put", "acme", "s")
	base := []string{"api", "put", "acme", "maps", "--upstream", "https://m.example.org", "--secret", "s", "--header", "X-K"}
	put := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }

	if r := e.ok(put("--require-signature")...); !strings.Contains(r.stderr+r.stdout, "require_signature") {
		t.Errorf("api put does not say the API requires signatures: %q", r.stderr+r.stdout)
	}
	if got := e.apiList("acme"); len(got) != 1 || got[0]["require_signature"] != true || got[0]["require_binding"] != false {
		t.Fatalf("api list after put --require-signature: %v", got)
	}
	before := e.stateBytes()
	e.fail(ExitFailure, put(), "require_signature", "--require-signature to keep it", "--require-signature=false to turn it off")
	if string(e.stateBytes()) != string(before) {
		t.Fatal("the refused put changed the store")
	}
	// Stated, it is kept (with the other settings replaced) ...
	e.ok(put("--require-signature", "--require-binding")...)
	if got := e.apiList("acme"); got[0]["require_signature"] != true || got[0]["require_binding"] != true {
		t.Fatalf("api list after a put that keeps it: %v", got)
	}
	// ... require_binding is guarded the same way ...
	e.fail(ExitFailure, put("--require-signature"), "require_binding", "--require-binding=false")
	// ... and turned off only when said so.
	e.ok(put("--require-signature=false", "--require-binding=false")...)
	if got := e.apiList("acme"); got[0]["require_signature"] != false || got[0]["require_binding"] != false {
		t.Fatalf("api list after turning both off: %v", got)
	}
	e.ok(put()...) // nothing on: nothing to drop
}
