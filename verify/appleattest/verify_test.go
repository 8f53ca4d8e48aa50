package appleattest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/platformtest"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	testTeam = "ABCDE12345"
	testApp  = "com.example.shop"
)

func testCDH() [32]byte { return sha256.Sum256([]byte("nonce || device key")) }

func newCA(t testing.TB) *platformtest.AppleCA {
	t.Helper()
	ca, err := platformtest.NewAppleCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func good() platformtest.AppleAttestation {
	return platformtest.AppleAttestation{ClientDataHash: testCDH(), TeamID: testTeam, AppID: testApp}
}

func input(t testing.TB, ca *platformtest.AppleCA, a platformtest.AppleAttestation) appleattest.Input {
	t.Helper()
	keyID, obj, err := ca.Attest(a)
	if err != nil {
		t.Fatal(err)
	}
	return appleattest.Input{KeyID: keyID, Attestation: obj, ClientDataHash: testCDH(), TeamID: testTeam, AppID: testApp}
}

// wire is the attestation object's CBOR shape, for rewriting tests.
type wire struct {
	Fmt     string `cbor:"fmt"`
	AttStmt struct {
		X5C     [][]byte `cbor:"x5c"`
		Receipt []byte   `cbor:"receipt"`
	} `cbor:"attStmt"`
	AuthData []byte `cbor:"authData"`
}

func rewrite(t testing.TB, obj []byte, mod func(*wire)) []byte {
	t.Helper()
	var w wire
	if err := cbor.Unmarshal(obj, &w); err != nil {
		t.Fatal(err)
	}
	mod(&w)
	b, err := cbor.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	in := func(mod func(*platformtest.AppleAttestation)) appleattest.Input {
		a := good()
		if mod != nil {
			mod(&a)
		}
		return input(t, ca, a)
	}
	withInput := func(mod func(*appleattest.Input)) appleattest.Input {
		i := in(nil)
		mod(&i)
		return i
	}
	base := in(nil)
	// A credential certificate from another CA presented with this CA's
	// intermediate: the signature check in x5c order fails.
	foreign := func() appleattest.Input {
		keyID, obj, err := other.Attest(good())
		if err != nil {
			t.Fatal(err)
		}
		i := base
		i.KeyID = keyID
		i.Attestation = rewrite(t, obj, func(w *wire) { w.AttStmt.X5C[1] = ca.Intermediate.Raw })
		return i
	}()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		in     appleattest.Input
		policy appleattest.Policy
		roots  []*x509.Certificate
		now    time.Time
		want   error
		env    string
	}{
		{name: "pass/production", in: base, env: appleattest.EnvProduction},
		{name: "pass/development-allowed", in: in(func(a *platformtest.AppleAttestation) { a.AAGUID = platformtest.AAGUIDDevelopment }),
			policy: appleattest.Policy{AllowDevelopment: true}, env: appleattest.EnvDevelopment},
		{name: "pass/production-when-development-allowed", in: base, policy: appleattest.Policy{AllowDevelopment: true}, env: appleattest.EnvProduction},
		{name: "pass/root-in-x5c", in: in(func(a *platformtest.AppleAttestation) { a.ExtraCerts = [][]byte{ca.Root.Raw} }), env: appleattest.EnvProduction},
		{name: "pass/given-credential-key", in: in(func(a *platformtest.AppleAttestation) { a.CredentialKey = &key.PublicKey }), env: appleattest.EnvProduction},

		{name: "fail/not-cbor", in: withInput(func(i *appleattest.Input) { i.Attestation = []byte("not cbor") }), want: appleattest.ErrMalformed},
		{name: "fail/empty", in: withInput(func(i *appleattest.Input) { i.Attestation = nil }), want: appleattest.ErrMalformed},
		{name: "fail/too-large", in: withInput(func(i *appleattest.Input) { i.Attestation = make([]byte, appleattest.MaxAttestationSize+1) }), want: appleattest.ErrMalformed},
		{name: "fail/trailing-bytes", in: withInput(func(i *appleattest.Input) { i.Attestation = append(i.Attestation, 0) }), want: appleattest.ErrMalformed},
		{name: "fail/indefinite-length-map", in: withInput(func(i *appleattest.Input) {
			i.Attestation = append(append([]byte{0xbf}, i.Attestation[1:]...), 0xff)
		}), want: appleattest.ErrMalformed},
		{name: "fail/duplicate-key", in: withInput(func(i *appleattest.Input) {
			i.Attestation = append(append([]byte{0xa4}, i.Attestation[1:]...), mustCBOR(t, "fmt")...)
			i.Attestation = append(i.Attestation, mustCBOR(t, "apple-appattest")...)
		}), want: appleattest.ErrMalformed},
		{name: "fail/tagged-item", in: withInput(func(i *appleattest.Input) {
			i.Attestation = append([]byte{0xd8, 0x18}, i.Attestation...) // tag 24 around the map
		}), want: appleattest.ErrMalformed},
		{name: "fail/too-deep", in: withInput(func(i *appleattest.Input) {
			i.Attestation = mustCBOR(t, map[string]any{"fmt": "apple-appattest", "x": [][][][]int{{{{1}}}}})
		}), want: appleattest.ErrMalformed},
		{name: "fail/other-format", in: in(func(a *platformtest.AppleAttestation) { a.Format = "android-key" }), want: appleattest.ErrMalformed},
		{name: "fail/no-x5c", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AttStmt.X5C = nil })
		}), want: appleattest.ErrMalformed},
		{name: "fail/x5c-too-long", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) {
				for len(w.AttStmt.X5C) < 9 {
					w.AttStmt.X5C = append(w.AttStmt.X5C, ca.Root.Raw)
				}
			})
		}), want: appleattest.ErrMalformed},
		{name: "fail/certificate-garbage", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AttStmt.X5C[0] = []byte{0x30, 0} })
		}), want: appleattest.ErrMalformed},
		{name: "fail/authdata-short", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AuthData = w.AuthData[:40] })
		}), want: appleattest.ErrMalformed},
		{name: "fail/authdata-no-attested-credential", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AuthData[32] = 0 })
		}), want: appleattest.ErrMalformed},
		{name: "fail/authdata-credential-id-overruns", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AuthData[53], w.AuthData[54] = 0x03, 0xff })
		}), want: appleattest.ErrMalformed},
		{name: "fail/chain-signature", in: foreign, want: appleattest.ErrChain},
		{name: "fail/unknown-root", in: base, roots: other.Roots(), want: appleattest.ErrRoot},
		// §7 1.1: the leaf's dates are not checked (the nonce proves freshness);
		// the intermediate's are.
		{name: "pass/credential-expired", in: in(func(a *platformtest.AppleAttestation) { a.NotAfter = testNow.Add(-time.Minute) }), env: appleattest.EnvProduction},
		{name: "pass/credential-not-yet-valid", in: in(func(a *platformtest.AppleAttestation) { a.NotBefore = testNow.Add(time.Minute) }), env: appleattest.EnvProduction},
		{name: "fail/intermediate-expired", in: base, now: time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC), want: appleattest.ErrExpiredCert},
		{name: "fail/no-nonce-extension", in: in(func(a *platformtest.AppleAttestation) { a.NoNonce = true }), want: appleattest.ErrNonce},
		{name: "fail/nonce-empty", in: in(func(a *platformtest.AppleAttestation) { a.Nonce = []byte{} }), want: appleattest.ErrNonce},
		{name: "fail/nonce-other-client-data", in: withInput(func(i *appleattest.Input) { i.ClientDataHash = sha256.Sum256([]byte("other")) }), want: appleattest.ErrNonce},
		{name: "fail/nonce-authdata-tampered", in: withInput(func(i *appleattest.Input) {
			i.Attestation = rewrite(t, i.Attestation, func(w *wire) { w.AuthData[36] = 1 }) // counter 1
		}), want: appleattest.ErrNonce},
		{name: "fail/keyid-not-credential-key", in: withInput(func(i *appleattest.Input) { i.KeyID = bytes.Repeat([]byte{7}, 32) }), want: appleattest.ErrKeyID},
		{name: "fail/rpid-other-team", in: withInput(func(i *appleattest.Input) { i.TeamID = "ZZZZZ99999" }), want: appleattest.ErrRPID},
		{name: "fail/rpid-other-app", in: withInput(func(i *appleattest.Input) { i.AppID = "com.example.other" }), want: appleattest.ErrRPID},
		{name: "fail/rpid-no-team", in: withInput(func(i *appleattest.Input) { i.TeamID = "" }), want: appleattest.ErrRPID},
		{name: "fail/counter", in: in(func(a *platformtest.AppleAttestation) { a.Counter = 1 }), want: appleattest.ErrCounter},
		{name: "fail/aaguid-development-not-allowed", in: in(func(a *platformtest.AppleAttestation) { a.AAGUID = platformtest.AAGUIDDevelopment }), want: appleattest.ErrAAGUID},
		{name: "fail/aaguid-unknown", in: in(func(a *platformtest.AppleAttestation) { a.AAGUID = "appattestsandbox" }),
			policy: appleattest.Policy{AllowDevelopment: true}, want: appleattest.ErrAAGUID},
		{name: "fail/credential-id-not-key-id", in: in(func(a *platformtest.AppleAttestation) { a.CredentialID = bytes.Repeat([]byte{9}, 32) }), want: appleattest.ErrKeyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roots := tc.roots
			if roots == nil {
				roots = ca.Roots()
			}
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			res, err := appleattest.Verify(tc.in, tc.policy, roots, now)
			checkErr(t, err, tc.want)
			if tc.want == nil && (res.Environment != tc.env || res.Format != appleattest.Format) {
				t.Errorf("result %+v, want environment %s", res, tc.env)
			}
		})
	}
}

func TestReason(t *testing.T) {
	if appleattest.Reason(nil) != "" || appleattest.Reason(bytes.ErrTooLarge) != appleattest.ReasonInvalid {
		t.Error("Reason of nil or a foreign error")
	}
	for _, s := range sentinels() {
		if got := appleattest.Reason(s.err); got != s.reason {
			t.Errorf("Reason(%v) = %q, want %q", s.err, got, s.reason)
		}
	}
}

func TestRoots(t *testing.T) {
	roots, err := appleattest.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0].Subject.CommonName != "Apple App Attestation Root CA" {
		t.Fatalf("roots %v", roots)
	}
	sum := sha256.Sum256(roots[0].Raw)
	const want = "1cb9823ba28ba6ad2d33a006941de2ae4f513ef1d4e831b9f7e0fa7b6242c932"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
	ca := newCA(t)
	over, err := appleattest.ParseRootsPEM(ca.RootPEM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appleattest.Verify(input(t, ca, good()), appleattest.Policy{}, over, testNow); err != nil {
		t.Fatal(err)
	}
	_, err = appleattest.ParseRootsPEM([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	checkErr(t, err, appleattest.ErrMalformed)
}
