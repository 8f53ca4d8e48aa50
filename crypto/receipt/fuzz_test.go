package receipt_test

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/crypto/receipt"
)

// FuzzReceiptCheck feeds Check arbitrary strings; the committed corpus
// (testdata/fuzz/FuzzReceiptCheck) holds receipts of both formats made with
// the fuzz keyring and broken variants.
func FuzzReceiptCheck(f *testing.F) {
	k := ring(f, key("k2", 2), key("k1", 1))
	f.Add(issue(f, k, sample()))
	f.Add(issue(f, k, playSample(receipt.PlayVerdicts{Basic: true, Device: true, Recognized: true})))
	f.Fuzz(func(t *testing.T, s string) {
		r, err := k.Check(s, t0)
		if err != nil {
			if receipt.Reason(err) == "receipt_invalid" {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if r.AppID == "" || r.DID == "" || r.Format == "" || !t0.Before(r.ExpiresAt) {
			t.Fatalf("accepted an incomplete or expired receipt: %+v", r)
		}
		// A receipt that checks is one this keyring issued: re-issuing what
		// it holds at its issue time gives a receipt that checks the same.
		again, err := k.Issue(r, r.IssuedAt)
		if err != nil && !errors.Is(err, receipt.ErrKey) {
			t.Fatal(err)
		}
		if err == nil {
			if r2, err := k.Check(again, t0); err != nil || r2 != r {
				t.Fatalf("re-issued receipt differs: %+v, %v", r2, err)
			}
		}
	})
}
