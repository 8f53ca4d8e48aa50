package androidkey_test

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// TestHostileChainsRefused: the attacker's chains (a 120,000-bit RSA key
// with e = 2^31-1 under a 15,000-byte signature, e = 2^31-1 on 2048 bits,
// a 16,384-bit key, SHA-1, Ed25519 and P-521 keys, eight maximum-size
// certificates, a forged intermediate, out-of-bounds chains) are refused
// by androidkey.Verify with x509chain's class kept and the precise reason
// of that class: a key or algorithm outside the allow-list is android_chain
// (refused before any signature is checked: x509chain.ErrKey is returned
// only then), a forged certificate android_chain or android_root.
func TestHostileChainsRefused(t *testing.T) {
	f := newFixture(t)
	hs, err := platformtest.HostileChains(f.ca.Root, f.ca.RootKey, &f.device.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	reason := map[error]error{
		x509chain.ErrKey:       androidkey.ErrChain,
		x509chain.ErrSignature: androidkey.ErrChain,
		x509chain.ErrRoot:      androidkey.ErrRoot,
		x509chain.ErrMalformed: androidkey.ErrMalformed,
	}
	for _, h := range hs {
		t.Run(h.Name, func(t *testing.T) {
			in := f.input(t, f.good())
			in.Chain = h.Chain
			_, err := androidkey.Verify(in, androidkey.Policy{}, f.ca.Roots(), nil, testNow)
			checkErr(t, err, reason[h.Want])
			if !errors.Is(err, h.Want) {
				t.Errorf("x509chain class lost: %v, want %v", err, h.Want)
			}
		})
	}
}
