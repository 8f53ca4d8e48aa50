package playintegrity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

const (
	appID  = "com.example.shop"
	maxAge = 60 * time.Second
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// rig is one attest request's side of a Play Integrity check: the
// app's issuer (Play's keys), the attestd nonce, the device key.
type rig struct {
	iss    *playtest.Issuer
	nonce  []byte
	spki   []byte
	signer [32]byte
}

func newRig(t testing.TB) *rig {
	t.Helper()
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	return &rig{iss: iss, nonce: []byte("n1.AAAAAAAAAAAAAAAAAAAAAA.attestd-nonce"), spki: deviceSPKI(t), signer: sha256.Sum256([]byte("signer"))}
}

func deviceSPKI(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pass is the verdict of a genuine app and device for this request.
func (r *rig) pass() playtest.Verdict {
	return playtest.Pass(appID, r.signer, r.nonce, r.spki, now)
}

// token is v made into a token by the rig's issuer.
func (r *rig) token(t testing.TB, v playtest.Verdict) string {
	t.Helper()
	tok, err := r.iss.Token(v.JSON())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (r *rig) input(tok string) playintegrity.Input {
	return playintegrity.Input{Token: tok, Nonce: r.nonce, DeviceSPKI: r.spki, AppID: appID, Signer: r.signer}
}

// verify runs Verify with the rig's keys and the default policy at now.
func (r *rig) verify(tok string, p playintegrity.Policy) (playintegrity.Verdicts, error) {
	return playintegrity.Verify(r.input(tok), r.iss.KeySet(), p, maxAge, now)
}

// wantReason fails unless err is named reason ("" for nil).
func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := playintegrity.Reason(err); got != reason {
		t.Fatalf("reason %q (%v), want %q", got, err, reason)
	}
}

func spkiOf(t testing.TB, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
