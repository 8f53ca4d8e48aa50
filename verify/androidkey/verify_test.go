package androidkey_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	testApp   = "com.example.shop"
	testNonce = "n0nce-from-the-challenge-endpoint"
)

func testSigner() [32]byte { return sha256.Sum256([]byte("signing certificate")) }

// fixture is a test CA with a device key and a good leaf description.
type fixture struct {
	ca     *platformtest.AndroidCA
	device *ecdsa.PrivateKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ca, err := platformtest.NewAndroidCA()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ca: ca, device: newKey(t)}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// good is a leaf that passes the default policy.
func (f *fixture) good() platformtest.AndroidLeaf {
	return platformtest.AndroidLeaf{
		DeviceKey: &f.device.PublicKey,
		Challenge: platformtest.AndroidChallenge([]byte(testNonce)),
		Package:   testApp,
		Signer:    testSigner(),
	}
}

func (f *fixture) input(t testing.TB, l platformtest.AndroidLeaf) androidkey.Input {
	t.Helper()
	chain, err := f.ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	return androidkey.Input{Chain: chain, DeviceKey: &f.device.PublicKey, Nonce: []byte(testNonce), AppID: testApp, Signer: testSigner()}
}

type testCase struct {
	name   string
	in     androidkey.Input
	policy androidkey.Policy
	roots  []*x509.Certificate
	status *androidkey.StatusList
	now    time.Time
	want   error // nil: pass
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	leaf := func(mod func(*platformtest.AndroidLeaf)) androidkey.Input {
		l := f.good()
		if mod != nil {
			mod(&l)
		}
		return f.input(t, l)
	}
	withInput := func(mod func(*androidkey.Input)) androidkey.Input {
		in := leaf(nil)
		mod(&in)
		return in
	}

	// An attested key that signs a forged leaf: the forged leaf is signed by
	// the genuine leaf, which carries a key description itself.
	forged := func() androidkey.Input {
		attested := newKey(t)
		l := f.good()
		l.DeviceKey = &attested.PublicKey
		genuine, err := platformtest.AndroidLeafCert(l, f.ca.Intermediate, f.ca.IntermediateKey)
		if err != nil {
			t.Fatal(err)
		}
		gc, err := x509.ParseCertificate(genuine)
		if err != nil {
			t.Fatal(err)
		}
		fake, err := platformtest.AndroidLeafCert(f.good(), gc, attested)
		if err != nil {
			t.Fatal(err)
		}
		in := leaf(nil)
		in.Chain = [][]byte{fake, genuine, f.ca.Intermediate.Raw, f.ca.Root.Raw}
		return in
	}()

	wrongSigner := func() androidkey.Input {
		in := leaf(nil)
		wrong := newKey(t)
		impostor := *f.ca.Intermediate // same names, another key
		impostor.PublicKey = &wrong.PublicKey
		bad, err := platformtest.AndroidLeafCert(f.good(), &impostor, wrong)
		if err != nil {
			t.Fatal(err)
		}
		in.Chain[0] = bad
		return in
	}()

	good := leaf(nil)
	goodCerts := parseChain(t, good.Chain)
	statusOf := func(serialHex, status string) *androidkey.StatusList {
		l, err := androidkey.ParseStatusList([]byte(fmt.Sprintf(`{"entries":{%q:{"status":%q,"reason":"KEY_COMPROMISE"}}}`, serialHex, status)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	cases := []testCase{
		{name: "pass/tee-default-policy", in: good},
		{name: "pass/strongbox-under-strongbox-policy", in: leaf(func(l *platformtest.AndroidLeaf) {
			l.AttestationSecurity, l.KeyMintSecurity = androidkey.LevelStrongBox, androidkey.LevelStrongBox
		}), policy: androidkey.Policy{MinSecurity: androidkey.LevelStrongBox}},
		{name: "pass/software-when-allowed", in: leaf(func(l *platformtest.AndroidLeaf) {
			l.AttestationSecurity, l.KeyMintSecurity = androidkey.LevelSoftware, androidkey.LevelSoftware
		}), policy: androidkey.Policy{MinSecurity: androidkey.LevelSoftware}},
		{name: "pass/unlocked-when-allowed", in: leaf(func(l *platformtest.AndroidLeaf) {
			l.Unlocked, l.BootState = true, androidkey.BootUnverified
		}), policy: androidkey.Policy{AllowUnlockedBootloader: true}},
		{name: "pass/self-signed-boot-when-allowed", in: leaf(func(l *platformtest.AndroidLeaf) {
			l.BootState = androidkey.BootSelfSigned
		}), policy: androidkey.Policy{AllowUnlockedBootloader: true}},
		{name: "pass/application-id-in-hardware-enforced", in: leaf(func(l *platformtest.AndroidLeaf) { l.AppIDInHardware = true })},
		{name: "pass/keymaster2-version", in: leaf(func(l *platformtest.AndroidLeaf) { l.AttestationVersion = androidkey.VersionKeymaster2 })},
		{name: "pass/unknown-newer-version", in: leaf(func(l *platformtest.AndroidLeaf) { l.AttestationVersion = 500 })},
		{name: "pass/root-not-sent", in: withInput(func(in *androidkey.Input) { in.Chain = in.Chain[:2] })},
		{name: "pass/status-list-names-another-certificate", in: good, status: statusOf("abc123", "REVOKED")},

		{name: "fail/malformed-certificate", in: withInput(func(in *androidkey.Input) { in.Chain[1] = []byte{0x30, 0x03, 1, 2, 3} }), want: androidkey.ErrMalformed},
		{name: "fail/empty-chain", in: withInput(func(in *androidkey.Input) { in.Chain = nil }), want: androidkey.ErrMalformed},
		{name: "fail/too-many-certificates", in: withInput(func(in *androidkey.Input) {
			for len(in.Chain) < 9 {
				in.Chain = append(in.Chain, f.ca.Root.Raw)
			}
		}), want: androidkey.ErrMalformed},
		{name: "fail/certificate-too-large", in: withInput(func(in *androidkey.Input) { in.Chain[0] = make([]byte, 16<<10+1) }), want: androidkey.ErrMalformed},
		{name: "fail/chain-signature", in: wrongSigner, want: androidkey.ErrChain},
		{name: "fail/chain-order", in: withInput(func(in *androidkey.Input) { in.Chain[1], in.Chain[2] = in.Chain[2], in.Chain[1] }), want: androidkey.ErrChain},
		{name: "fail/leaf-signed-by-attested-key", in: forged, want: androidkey.ErrChain},
		{name: "fail/unknown-root", in: good, roots: other.ca.Roots(), want: androidkey.ErrRoot},
		{name: "fail/no-roots", in: good, roots: []*x509.Certificate{}, want: androidkey.ErrRoot},
		// §7 1.1: the leaf's dates are the device's; the challenge proves freshness.
		{name: "pass/leaf-expired", in: leaf(func(l *platformtest.AndroidLeaf) { l.NotAfter = testNow.Add(-time.Hour) })},
		{name: "pass/leaf-not-yet-valid", in: leaf(func(l *platformtest.AndroidLeaf) { l.NotBefore = testNow.Add(time.Hour) })},
		{name: "fail/intermediate-expired", in: good, now: time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC), want: androidkey.ErrExpiredCert},
		{name: "fail/key-mismatch", in: withInput(func(in *androidkey.Input) { in.DeviceKey = &newKey(t).PublicKey }), want: androidkey.ErrKeyMismatch},
		{name: "fail/no-device-key", in: withInput(func(in *androidkey.Input) { in.DeviceKey = nil }), want: androidkey.ErrKeyMismatch},
		{name: "fail/no-key-description", in: leaf(func(l *platformtest.AndroidLeaf) { l.NoExtension = true }), want: androidkey.ErrMalformed},
		{name: "fail/key-description-garbage", in: leaf(func(l *platformtest.AndroidLeaf) { l.KeyDescription = []byte{0x42, 0x42} }), want: androidkey.ErrMalformed},
		{name: "fail/challenge", in: withInput(func(in *androidkey.Input) { in.Nonce = []byte("another nonce") }), want: androidkey.ErrChallenge},
		{name: "fail/challenge-raw-nonce", in: leaf(func(l *platformtest.AndroidLeaf) { l.Challenge = []byte(testNonce) }), want: androidkey.ErrChallenge},
		{name: "fail/package", in: withInput(func(in *androidkey.Input) { in.AppID = "com.example.other" }), want: androidkey.ErrPackage},
		{name: "fail/no-application-id", in: leaf(func(l *platformtest.AndroidLeaf) { l.NoApplicationID = true }), want: androidkey.ErrPackage},
		{name: "fail/signer", in: withInput(func(in *androidkey.Input) { in.Signer = sha256.Sum256([]byte("another certificate")) }), want: androidkey.ErrSigner},
		{name: "fail/software-under-default-policy", in: leaf(func(l *platformtest.AndroidLeaf) {
			l.AttestationSecurity, l.KeyMintSecurity = androidkey.LevelSoftware, androidkey.LevelSoftware
		}), want: androidkey.ErrSecurityLevel},
		{name: "fail/keymint-software-attestation-tee", in: leaf(func(l *platformtest.AndroidLeaf) { l.KeyMintSecurity = androidkey.LevelSoftware }), want: androidkey.ErrSecurityLevel},
		{name: "fail/tee-under-strongbox-policy", in: good, policy: androidkey.Policy{MinSecurity: androidkey.LevelStrongBox}, want: androidkey.ErrSecurityLevel},
		{name: "fail/boot-unverified", in: leaf(func(l *platformtest.AndroidLeaf) { l.BootState = androidkey.BootUnverified }), want: androidkey.ErrBootState},
		{name: "fail/boot-self-signed", in: leaf(func(l *platformtest.AndroidLeaf) { l.BootState = androidkey.BootSelfSigned }), want: androidkey.ErrBootState},
		{name: "fail/device-unlocked", in: leaf(func(l *platformtest.AndroidLeaf) { l.Unlocked = true }), want: androidkey.ErrBootState},
		{name: "fail/boot-failed-even-when-allowed", in: leaf(func(l *platformtest.AndroidLeaf) { l.BootState = androidkey.BootFailed }),
			policy: androidkey.Policy{AllowUnlockedBootloader: true}, want: androidkey.ErrBootState},
		{name: "fail/no-root-of-trust", in: leaf(func(l *platformtest.AndroidLeaf) { l.NoRootOfTrust = true }), want: androidkey.ErrBootState},
		{name: "fail/intermediate-revoked", in: good, status: statusOf(goodCerts[1].SerialNumber.Text(16), "REVOKED"), want: androidkey.ErrRevoked},
		{name: "fail/leaf-suspended", in: good, status: statusOf(goodCerts[0].SerialNumber.Text(16), "SUSPENDED"), want: androidkey.ErrRevoked},
		{name: "fail/root-listed-uppercase-leading-zeros", in: good, status: statusOf("00"+upperHex(goodCerts[2].SerialNumber.Text(16)), "REVOKED"), want: androidkey.ErrRevoked},
		{name: "fail/policy-invalid", in: good, policy: androidkey.Policy{MinSecurity: 9}, want: androidkey.ErrPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			roots := tc.roots
			if roots == nil {
				roots = f.ca.Roots()
			}
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			res, err := androidkey.Verify(tc.in, tc.policy, roots, tc.status, now)
			checkErr(t, err, tc.want)
			if tc.want == nil && res.Format != androidkey.Format {
				t.Errorf("Format = %q", res.Format)
			}
		})
	}
}

// checkErr asserts that err wraps want (nil: no error), wraps no other
// sentinel, and that Reason names it.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want pass, got %v (%s)", err, androidkey.Reason(err))
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	for _, s := range sentinels() {
		if s.err != want && errors.Is(err, s.err) {
			t.Errorf("error also wraps %v", s.err)
		}
	}
	if got, w := androidkey.Reason(err), reasonOf(want); got != w {
		t.Errorf("Reason = %q, want %q", got, w)
	}
}

type sentinel struct {
	err    error
	reason string
}

func sentinels() []sentinel {
	return []sentinel{
		{androidkey.ErrMalformed, "android_malformed"},
		{androidkey.ErrChain, "android_chain"},
		{androidkey.ErrRoot, "android_root"},
		{androidkey.ErrExpiredCert, "android_cert_expired"},
		{androidkey.ErrKeyMismatch, "android_key_mismatch"},
		{androidkey.ErrChallenge, "android_challenge"},
		{androidkey.ErrPackage, "android_package"},
		{androidkey.ErrSigner, "android_signer"},
		{androidkey.ErrSecurityLevel, "android_security_level"},
		{androidkey.ErrBootState, "android_boot_state"},
		{androidkey.ErrBootKey, "android_boot_key"},
		{androidkey.ErrRevoked, "android_revoked"},
		{androidkey.ErrPatchLevel, "android_patch_level"},
		{androidkey.ErrOSVersion, "android_os_version"},
		{androidkey.ErrVersionCode, "android_version_code"},
		{androidkey.ErrPolicy, "android_policy"},
	}
}

func reasonOf(err error) string {
	for _, s := range sentinels() {
		if s.err == err {
			return s.reason
		}
	}
	return "?"
}

func TestReason(t *testing.T) {
	if got := androidkey.Reason(nil); got != "" {
		t.Errorf("Reason(nil) = %q", got)
	}
	if got := androidkey.Reason(errors.New("other")); got != androidkey.ReasonInvalid {
		t.Errorf("Reason(other) = %q", got)
	}
	for _, s := range sentinels() {
		if got := androidkey.Reason(fmt.Errorf("wrapped: %w", s.err)); got != s.reason {
			t.Errorf("Reason(%v) = %q, want %q", s.err, got, s.reason)
		}
	}
}

func TestResult(t *testing.T) {
	f := newFixture(t)
	l := f.good()
	l.AttestationSecurity, l.KeyMintSecurity = androidkey.LevelStrongBox, androidkey.LevelTEE
	l.Unlocked, l.BootState = true, androidkey.BootUnverified
	in := f.input(t, l)
	res, err := androidkey.Verify(in, androidkey.Policy{AllowUnlockedBootloader: true}, f.ca.Roots(), nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := androidkey.Result{
		Format:                   "android-key",
		SecurityLevel:            androidkey.LevelTEE,
		AttestationSecurityLevel: androidkey.LevelStrongBox,
		KeyMintSecurityLevel:     androidkey.LevelTEE,
		BootState:                androidkey.BootUnverified,
		DeviceLocked:             false,
		AttestationVersion:       300,
		KeyMintVersion:           300,
		Attested:                 androidkey.Attested{BootState: androidkey.BootUnverified, VersionCode: 1, HasVersionCode: true},
	}
	serials := res.Serials
	res.Serials = nil
	if !reflect.DeepEqual(res, want) {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
	chain := parseChain(t, in.Chain)
	if len(serials) != len(chain) {
		t.Fatalf("%d serials for %d certificates", len(serials), len(chain))
	}
	for i, c := range chain {
		if !bytes.Equal(serials[i], c.SerialNumber.Bytes()) {
			t.Errorf("serial %d = %x, want %x", i, serials[i], c.SerialNumber.Bytes())
		}
	}
}

func TestRootOverridePEM(t *testing.T) {
	f := newFixture(t)
	roots, err := androidkey.ParseRootsPEM(f.ca.RootPEM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := androidkey.Verify(f.input(t, f.good()), androidkey.Policy{}, roots, nil, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := androidkey.ParseRootsPEM([]byte("no PEM here")); !errors.Is(err, androidkey.ErrMalformed) {
		t.Errorf("ParseRootsPEM(junk) = %v", err)
	}
}

// TestIntermediateNotCA: a certificate that says it is not a CA cannot sign.
func TestIntermediateNotCA(t *testing.T) {
	f := newFixture(t)
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: "not a CA"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), BasicConstraintsValid: true, IsCA: false}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca.Intermediate, &key.PublicKey, f.ca.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	notCA, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := platformtest.AndroidLeafCert(f.good(), notCA, key)
	if err != nil {
		t.Fatal(err)
	}
	in := f.input(t, f.good())
	in.Chain = [][]byte{leafDER, der, f.ca.Intermediate.Raw}
	_, err = androidkey.Verify(in, androidkey.Policy{}, f.ca.Roots(), nil, testNow)
	checkErr(t, err, androidkey.ErrChain)
}

func parseChain(t testing.TB, chain [][]byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, d := range chain {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}
