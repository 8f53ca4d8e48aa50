package model

import (
	"errors"
	"strings"
	"testing"
)

// TestEnforcementPolicy: policy.enforcement is enforce (also when absent)
// or monitor (PROTOCOL.md §11); anything else, a case variant or a second
// "enforcement" hidden after the first, is refused naming the member.
func TestEnforcementPolicy(t *testing.T) {
	const at = `"android_min_security": "tee"`
	for _, tc := range []struct {
		name, policy string
		monitor      bool
		err          string
	}{
		{"absent", at, false, ""},
		{"enforce", at + `, "enforcement": "enforce"`, false, ""},
		{"monitor", at + `, "enforcement": "monitor"`, true, ""},
		{"unknown-value", at + `, "enforcement": "audit"`, false, "apps[0].policy.enforcement: must be enforce or monitor"},
		{"case-variant-value", at + `, "enforcement": "Monitor"`, false, "apps[0].policy.enforcement: must be enforce or monitor"},
		{"empty-string", at + `, "enforcement": ""`, false, ""},
		{"repeated", at + `, "enforcement": "enforce", "enforcement": "monitor"`, false, "apps[0].policy.enforcement: repeated member"},
		{"case-variant-name", at + `, "Enforcement": "monitor"`, false, "apps[0].policy.Enforcement: unknown member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := strings.Repeat("A", 43) // b64u of 32 zero bytes
			valid := strings.NewReplacer(`"c2ln"`, `"`+d+`"`, `"Y29kZQ"`, `"`+d+`"`).Replace(goodBundle)
			b, err := decode(strings.Replace(valid, at, tc.policy, 1))
			if err == nil {
				err = b.Apps[0].Validate("apps[0]") // the sample account is not valid itself
			}
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Apps[0].Policy.Monitor(); got != tc.monitor {
				t.Fatalf("Monitor() = %v, want %v", got, tc.monitor)
			}
		})
	}
}
