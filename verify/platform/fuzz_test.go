package platform_test

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/verify/platform"
)

// FuzzParseEvidence feeds the platform_attestation decoder arbitrary JSON;
// the committed corpus (testdata/fuzz/FuzzParseEvidence) holds one object
// of each format and broken variants.
func FuzzParseEvidence(f *testing.F) {
	f.Add([]byte(`{"format":"receipt","receipt":"r1.k.b.m"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := platform.ParseEvidence(b)
		if err != nil {
			if !errors.Is(err, platform.ErrMalformed) && !errors.Is(err, platform.ErrFormat) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		switch ev.Format {
		case platform.FormatAndroidKey:
			if len(ev.Chain) == 0 || len(ev.Chain) > 8 {
				t.Fatalf("chain of %d", len(ev.Chain))
			}
		case platform.FormatAppleAppAttest:
			if len(ev.KeyID) == 0 || len(ev.Attestation) == 0 {
				t.Fatal("empty apple field")
			}
		case platform.FormatReceipt:
			if ev.Receipt == "" {
				t.Fatal("empty receipt")
			}
		default:
			t.Fatalf("format %q accepted", ev.Format)
		}
	})
}
