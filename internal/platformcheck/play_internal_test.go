package platformcheck

import (
	"testing"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/verify/playintegrity"
)

// TestPlayPolicyAgreesWithReceipt: for every verdict and every play_*
// policy, a receipt recording the verdict meets the policy exactly when
// the verdict does at enrolment (the two checks are written twice, in
// verify/playintegrity and crypto/receipt, and must not drift apart).
func TestPlayPolicyAgreesWithReceipt(t *testing.T) {
	n := 0
	for bits := range 64 {
		b := func(i int) bool { return bits&(1<<i) != 0 }
		v := playintegrity.Verdicts{Recognized: b(3), Licensed: b(4), PlayProtect: b(5)}
		for i, l := range []playintegrity.Labels{playintegrity.LabelBasic, playintegrity.LabelDevice, playintegrity.LabelStrong} {
			if b(i) {
				v.Labels |= l
			}
		}
		r := receipt.Receipt{Format: receipt.FormatPlayIntegrity, Play: playReceipt(v)}
		for _, level := range []string{"", "basic", "device", "strong", "Strong"} {
			for flags := range 8 {
				f := func(i int) bool { return flags&(1<<i) != 0 }
				pp := playintegrity.Policy{MinDevice: level, RequireLicensed: f(0), AllowUnrecognized: f(1), RequirePlayProtect: f(2)}
				rp := receipt.Policy{PlayMinDevice: level, PlayRequireLicensed: f(0), PlayAllowUnrecognized: f(1), PlayRequirePlayProtect: f(2)}
				atEnrolment, onUse := v.Meets(pp), receipt.MeetsPolicy(r, rp)
				if (atEnrolment == nil) != (onUse == nil) {
					t.Fatalf("verdicts %+v, policy %+v: enrolment %v, receipt %v", v, pp, atEnrolment, onUse)
				}
				if atEnrolment == nil {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no combination passes: the test checks nothing")
	}
}
