package appleattest_test

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
)

// FuzzAttestationObject feeds the CBOR attestation object decoder, and then
// Verify, arbitrary bytes; the committed corpus
// (testdata/fuzz/FuzzAttestationObject) holds generated objects and CBOR
// edge cases.
func FuzzAttestationObject(f *testing.F) {
	ca := newCA(f)
	_, obj, err := ca.Attest(good())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(obj)
	roots := ca.Roots()
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := appleattest.ParseAttestationObject(b)
		if err == nil {
			if o.Format != appleattest.Format || len(o.X5C) == 0 || len(o.X5C) > 16 ||
				len(o.AuthData.CredentialID) == 0 || len(o.AuthData.CredentialID) > 1023 ||
				len(o.RawAuthData) < 55+len(o.AuthData.CredentialID) {
				t.Fatalf("decoded object out of bounds: %+v", o)
			}
		} else if !errors.Is(err, appleattest.ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		in := appleattest.Input{Attestation: b, ClientDataHash: testCDH(), TeamID: testTeam, AppID: testApp}
		if o != nil {
			in.KeyID = o.AuthData.CredentialID
		}
		if _, err := appleattest.Verify(in, appleattest.Policy{AllowDevelopment: true}, roots, testNow); err != nil && appleattest.Reason(err) == appleattest.ReasonInvalid {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}
