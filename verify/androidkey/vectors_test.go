package androidkey_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

func defaultRoots(t *testing.T) []*x509.Certificate {
	t.Helper()
	roots, err := androidkey.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	return roots
}

func leafKeyDescription(t *testing.T, der []byte) *androidkey.KeyDescription {
	t.Helper()
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range leaf.Extensions {
		if e.Id.String() == androidkey.KeyDescriptionOID {
			kd, err := androidkey.ParseKeyDescription(e.Value)
			if err != nil {
				t.Fatal(err)
			}
			return kd
		}
	}
	t.Fatal("leaf has no key description")
	return nil
}

func leafKey(t *testing.T, der []byte) *ecdsa.PublicKey {
	t.Helper()
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("leaf key is %T", leaf.PublicKey)
	}
	return k
}

// TestGoogleVectors: Keymaster 4 chains of google/android-key-attestation
// (a test device: unlocked, unverified boot; challenge "abc").
func TestGoogleVectors(t *testing.T) {
	dir := filepath.Join(platformtest.Vectors(t), "android", "google-android-key-attestation")
	at := time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		level androidkey.SecurityLevel
		// patches are the OS, vendor and boot patch levels the leaf
		// carries (not in the README: read from the DER, and they show
		// the forms of the field: YYYYMM where YYYYMMDD is due, day 00).
		patches [3]int64
	}{
		{"algorithm_EC_SecurityLevel_TEE", androidkey.LevelTEE, [3]int64{201907, 201907, 201907}},
		{"algorithm_EC_SecurityLevel_StrongBox", androidkey.LevelStrongBox, [3]int64{201907, 20190705, 20190700}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var chain [][]byte
			for i := 0; i < 4; i++ {
				b, err := os.ReadFile(filepath.Join(dir, tc.name, "cert"+strconv.Itoa(i)+".der"))
				if err != nil {
					t.Fatal(err)
				}
				chain = append(chain, b)
			}
			kd := leafKeyDescription(t, chain[0])
			if kd.AttestationVersion != androidkey.VersionKeymaster4 || kd.AttestationSecurityLevel != tc.level || kd.KeyMintSecurityLevel != tc.level {
				t.Fatalf("version %d, levels %s/%s", kd.AttestationVersion, kd.AttestationSecurityLevel, kd.KeyMintSecurityLevel)
			}
			if string(kd.AttestationChallenge) != "abc" || len(kd.UniqueID) != 0 {
				t.Fatalf("challenge %q, uniqueId %x", kd.AttestationChallenge, kd.UniqueID)
			}
			rot := kd.HardwareEnforced.RootOfTrust
			if rot == nil || rot.DeviceLocked || rot.VerifiedBootState != androidkey.BootUnverified || hex.EncodeToString(rot.VerifiedBootKey) != hex.EncodeToString(make([]byte, 32)) {
				t.Fatalf("root of trust %+v", rot)
			}
			id := kd.SoftwareEnforced.AttestationApplicationID
			if id == nil || len(id.Packages) != 13 || len(id.SignatureDigests) != 1 {
				t.Fatalf("attestationApplicationId %+v", id)
			}
			if d := hex.EncodeToString(id.SignatureDigests[0]); d[:8] != "301aa3cb" || d[len(d)-6:] != "d866aa" {
				t.Fatalf("signature digest %s", d)
			}
			var signer [32]byte
			copy(signer[:], id.SignatureDigests[0])
			in := androidkey.Input{Chain: chain, DeviceKey: leafKey(t, chain[0]), AppID: "android", Signer: signer}
			policy := androidkey.Policy{MinSecurity: tc.level, AllowUnlockedBootloader: true}

			roots := defaultRoots(t)
			if tc.level == androidkey.LevelStrongBox {
				// This chain ends at a root (serialNumber=e35d38c6897d47e8)
				// that Google does not publish: the built-in roots refuse it,
				// a deployment that configures it accepts it.
				_, err := androidkey.VerifyWithChallenge(in, []byte("abc"), policy, roots, nil, at)
				checkErr(t, err, androidkey.ErrRoot)
				own, err := x509.ParseCertificate(chain[3])
				if err != nil {
					t.Fatal(err)
				}
				roots = []*x509.Certificate{own}
				// The quirk: the leaf's issuer names cert2, it is signed by cert1.
				c0, c1 := parseChain(t, chain[:1])[0], parseChain(t, chain[1:2])[0]
				if c0.Issuer.String() == c1.Subject.String() {
					t.Fatal("expected the wrong-issuer quirk in this chain")
				}
			}
			res, err := androidkey.VerifyWithChallenge(in, []byte("abc"), policy, roots, nil, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.SecurityLevel != tc.level || res.BootState != androidkey.BootUnverified || res.DeviceLocked || res.AttestationVersion != 3 {
				t.Errorf("result %+v", res)
			}
			googleFields(t, in, policy, roots, res, tc.patches, at)
			// 1.1: the chain is anchored by its root's key. The TEE chain ends
			// at the 2016 issue of Google's RSA root, expired since
			// 2026-05-24: it still verifies while its intermediates are valid
			// (to 2028-03-18), and so it does at the present clock.
			afterRoot := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			if last := parseChain(t, chain[3:])[0]; tc.level == androidkey.LevelTEE && !last.NotAfter.Before(afterRoot) {
				t.Fatalf("expected the 2016 issue of the root, valid to %s", last.NotAfter)
			}
			if _, err := androidkey.VerifyWithChallenge(in, []byte("abc"), policy, roots, nil, afterRoot); err != nil {
				t.Errorf("after the root copy expired: %v", err)
			}
			present := time.Now()
			_, err = androidkey.VerifyWithChallenge(in, []byte("abc"), policy, roots, nil, present)
			checkErr(t, err, datesAt(parseChain(t, chain[1:3]), present))
			// The default policy refuses the unlocked test device.
			_, err = androidkey.VerifyWithChallenge(in, []byte("abc"), androidkey.Policy{}, roots, nil, at)
			checkErr(t, err, androidkey.ErrBootState)
			// Verify proper wants SHA-256 of a nonce, not the raw challenge.
			in.Nonce = []byte("abc")
			_, err = androidkey.Verify(in, policy, roots, nil, at)
			checkErr(t, err, androidkey.ErrChallenge)
			// After the root's and intermediates' validity the chain is refused.
			_, err = androidkey.VerifyWithChallenge(in, []byte("abc"), policy, roots, nil, time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC))
			checkErr(t, err, androidkey.ErrExpiredCert)
		})
	}
}

// googleFields: the Keymaster 4 test device attests no osVersion (0) and
// its patch levels of July 2019 in each form a device writes; package
// "android" is version 29.
func googleFields(t *testing.T, in androidkey.Input, policy androidkey.Policy, roots []*x509.Certificate, res androidkey.Result, patches [3]int64, at time.Time) {
	t.Helper()
	a := res.Attested
	if got := [3]int64{a.OSPatchLevel, a.VendorPatchLevel, a.BootPatchLevel}; got != patches || a.OSVersion != 0 {
		t.Errorf("attested %+v, want patch levels %v and no OS version", a, patches)
	}
	if !a.HasVersionCode || a.VersionCode != 29 || a.BootKey != [32]byte{} {
		t.Errorf("attested %+v", a)
	}
	p := policy
	p.MaxPatchAgeDays = 90 // at 2019-09-01, July 2019 is two months old
	if _, err := androidkey.VerifyWithChallenge(in, []byte("abc"), p, roots, nil, at); err != nil {
		t.Errorf("90-day patch policy: %v", err)
	}
	p.MaxPatchAgeDays = 30
	if _, err := androidkey.VerifyWithChallenge(in, []byte("abc"), p, roots, nil, at); !errors.Is(err, androidkey.ErrPatchLevel) {
		t.Errorf("30-day patch policy: %v", err)
	}
	p.MaxPatchAgeDays, p.MinOSVersion = 0, 90000
	if _, err := androidkey.VerifyWithChallenge(in, []byte("abc"), p, roots, nil, at); !errors.Is(err, androidkey.ErrOSVersion) {
		t.Errorf("no osVersion under a minimum: %v", err)
	}
}

// caimanJSON is the android/keyattestation project's expected decoding.
type caimanJSON struct {
	AttestationVersion       string `json:"attestationVersion"`
	AttestationSecurityLevel string `json:"attestationSecurityLevel"`
	KeyMintVersion           string `json:"keyMintVersion"`
	KeyMintSecurityLevel     string `json:"keyMintSecurityLevel"`
	AttestationChallenge     string `json:"attestationChallenge"`
	UniqueID                 string `json:"uniqueId"`
	SoftwareEnforced         struct {
		AttestationApplicationID struct {
			Packages []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"packages"`
			Signatures []string `json:"signatures"`
		} `json:"attestationApplicationId"`
		CreationDateTime string `json:"creationDateTime"`
	} `json:"softwareEnforced"`
	HardwareEnforced struct {
		RootOfTrust struct {
			VerifiedBootKey   string `json:"verifiedBootKey"`
			DeviceLocked      bool   `json:"deviceLocked"`
			VerifiedBootState string `json:"verifiedBootState"`
			VerifiedBootHash  string `json:"verifiedBootHash"`
		} `json:"rootOfTrust"`
		OSVersion        string `json:"osVersion"`
		OSPatchLevel     string `json:"osPatchLevel"`
		VendorPatchLevel string `json:"vendorPatchLevel"`
		BootPatchLevel   string `json:"bootPatchLevel"`
	} `json:"hardwareEnforced"`
}

// TestCaimanVectors: a production Pixel 9 Pro on KeyMint (TEE 400, StrongBox
// 300), remotely provisioned chains ending at Google's 2019 RSA root.
func TestCaimanVectors(t *testing.T) {
	dir := filepath.Join(platformtest.Vectors(t), "android", "android-keyattestation")
	levels := map[string]androidkey.SecurityLevel{"TRUSTED_ENVIRONMENT": androidkey.LevelTEE, "STRONG_BOX": androidkey.LevelStrongBox, "SOFTWARE": androidkey.LevelSoftware}
	for _, name := range []string{"caiman-sdk36-TEE_EC_RKP", "caiman-sdk36-SB_EC_RKP"} {
		t.Run(name, func(t *testing.T) {
			pemBytes, err := os.ReadFile(filepath.Join(dir, name+".pem"))
			if err != nil {
				t.Fatal(err)
			}
			var chain [][]byte
			for {
				var blk *pem.Block
				blk, pemBytes = pem.Decode(pemBytes)
				if blk == nil {
					break
				}
				chain = append(chain, blk.Bytes)
			}
			if len(chain) != 5 {
				t.Fatalf("%d certificates", len(chain))
			}
			jb, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want caimanJSON
			if err := json.Unmarshal(jb, &want); err != nil {
				t.Fatal(err)
			}
			kd := leafKeyDescription(t, chain[0])
			compareCaiman(t, kd, want, levels)

			challenge := mustB64(t, want.AttestationChallenge)
			var signer [32]byte
			copy(signer[:], mustB64(t, want.SoftwareEnforced.AttestationApplicationID.Signatures[0]))
			ms, err := strconv.ParseInt(want.SoftwareEnforced.CreationDateTime, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			at := time.UnixMilli(ms)
			level := levels[want.AttestationSecurityLevel]
			in := androidkey.Input{Chain: chain, DeviceKey: leafKey(t, chain[0]), AppID: "com.google.android.attestation", Signer: signer}
			// The default policy (TEE, locked, verified) and the built-in roots.
			res, err := androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), nil, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.SecurityLevel != level || res.BootState != androidkey.BootVerified || !res.DeviceLocked {
				t.Errorf("result %+v", res)
			}
			caimanFields(t, in, challenge, res, want, at)
			_, err = androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{MinSecurity: androidkey.LevelStrongBox}, defaultRoots(t), nil, at)
			if level == androidkey.LevelStrongBox {
				if err != nil {
					t.Errorf("StrongBox policy: %v", err)
				}
			} else {
				checkErr(t, err, androidkey.ErrSecurityLevel)
			}
			// The same chain without its root verifies too.
			in.Chain = chain[:4]
			if _, err := androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), nil, at); err != nil {
				t.Errorf("without root: %v", err)
			}
			// At the present clock, what the intermediates' dates allow:
			// with the root sent they are certificates 1-3, without it 1-3
			// and Droid CA2 (signed by the root, so checked too).
			present := time.Now()
			in.Chain = chain
			_, err = androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), nil, present)
			checkErr(t, err, datesAt(parseChain(t, chain[1:4]), present))
			in.Chain = chain[:4]
			_, err = androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), nil, present)
			checkErr(t, err, datesAt(parseChain(t, chain[1:4]), present))
			// The short-lived RKP intermediates expire within weeks.
			_, err = androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), nil, at.AddDate(0, 3, 0))
			checkErr(t, err, androidkey.ErrExpiredCert)
			// The status list: revoking Droid CA2 (certificate 3) refuses it.
			ca2 := parseChain(t, chain[3:4])[0]
			status, err := androidkey.ParseStatusList([]byte(`{"entries":{"` + ca2.SerialNumber.Text(16) + `":{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = androidkey.VerifyWithChallenge(in, challenge, androidkey.Policy{}, defaultRoots(t), status, at)
			checkErr(t, err, androidkey.ErrRevoked)
		})
	}
}

// caimanFields: the §9 fields Verify found are the JSON's, and the policy
// reads them: Android 16 with the November 2025 patches, version code 0.
func caimanFields(t *testing.T, in androidkey.Input, challenge []byte, res androidkey.Result, want caimanJSON, at time.Time) {
	t.Helper()
	a, hw := res.Attested, want.HardwareEnforced
	num := func(s string) int64 {
		t.Helper()
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if a.OSVersion != num(hw.OSVersion) || a.OSPatchLevel != num(hw.OSPatchLevel) ||
		a.VendorPatchLevel != num(hw.VendorPatchLevel) || a.BootPatchLevel != num(hw.BootPatchLevel) {
		t.Errorf("attested %+v, JSON %s %s %s %s", a, hw.OSVersion, hw.OSPatchLevel, hw.VendorPatchLevel, hw.BootPatchLevel)
	}
	if a.OSVersion != 160000 || a.OSPatchLevel != 202511 || a.VendorPatchLevel != 20251105 || a.BootPatchLevel != 20251105 {
		t.Errorf("attested %+v, want Android 16 of the 2025-11-05 patches", a)
	}
	pkg := want.SoftwareEnforced.AttestationApplicationID.Packages[0]
	if !a.HasVersionCode || strconv.FormatInt(a.VersionCode, 10) != pkg.Version {
		t.Errorf("version code %d (%v), JSON %s", a.VersionCode, a.HasVersionCode, pkg.Version)
	}
	if base64.StdEncoding.EncodeToString(a.BootKey[:]) != hw.RootOfTrust.VerifiedBootKey {
		t.Errorf("boot key %x, JSON %s", a.BootKey, hw.RootOfTrust.VerifiedBootKey)
	}
	if len(res.Serials) != len(in.Chain) {
		t.Errorf("%d serials for %d certificates", len(res.Serials), len(in.Chain))
	}
	for _, tc := range []struct {
		p    androidkey.Policy
		want error
	}{
		{androidkey.Policy{MinOSVersion: 160000, MaxPatchAgeDays: 30, CheckVersionCode: true, VersionCode: 0}, nil},
		{androidkey.Policy{MinOSVersion: 160001}, androidkey.ErrOSVersion},
		{androidkey.Policy{CheckVersionCode: true, VersionCode: 1}, androidkey.ErrVersionCode},
	} {
		_, err := androidkey.VerifyWithChallenge(in, challenge, tc.p, defaultRoots(t), nil, at)
		if !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("policy %+v: %v, want %v", tc.p, err, tc.want)
		}
	}
	// Half a year after the November patches, a 90-day patch policy
	// refuses what the receipt recorded.
	if err := androidkey.CheckFields(a, androidkey.Policy{MaxPatchAgeDays: 90}, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, androidkey.ErrPatchLevel) {
		t.Errorf("90-day policy in May 2026: %v", err)
	}
}

// datesAt is what §7 answers at t for a chain whose certificates between
// the anchor and the leaf are between: ErrExpiredCert when one of them is
// outside its validity, else nil.
func datesAt(between []*x509.Certificate, t time.Time) error {
	for _, c := range between {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return androidkey.ErrExpiredCert
		}
	}
	return nil
}

func compareCaiman(t *testing.T, kd *androidkey.KeyDescription, want caimanJSON, levels map[string]androidkey.SecurityLevel) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("attestationVersion", strconv.FormatInt(kd.AttestationVersion, 10), want.AttestationVersion)
	eq("attestationSecurityLevel", kd.AttestationSecurityLevel, levels[want.AttestationSecurityLevel])
	eq("keyMintVersion", strconv.FormatInt(kd.KeyMintVersion, 10), want.KeyMintVersion)
	eq("keyMintSecurityLevel", kd.KeyMintSecurityLevel, levels[want.KeyMintSecurityLevel])
	eq("attestationChallenge", base64.StdEncoding.EncodeToString(kd.AttestationChallenge), want.AttestationChallenge)
	eq("uniqueId", base64.StdEncoding.EncodeToString(kd.UniqueID), want.UniqueID)
	id := kd.SoftwareEnforced.AttestationApplicationID
	if id == nil {
		t.Fatal("no attestationApplicationId in softwareEnforced")
	}
	if kd.HardwareEnforced.AttestationApplicationID != nil {
		t.Error("unexpected attestationApplicationId in hardwareEnforced")
	}
	wantID := want.SoftwareEnforced.AttestationApplicationID
	if len(id.Packages) != len(wantID.Packages) || len(id.SignatureDigests) != len(wantID.Signatures) {
		t.Fatalf("attestationApplicationId %+v, want %+v", id, wantID)
	}
	for i, p := range id.Packages {
		eq("package name", p.Name, wantID.Packages[i].Name)
		eq("package version", strconv.FormatInt(p.Version, 10), wantID.Packages[i].Version)
	}
	for i, d := range id.SignatureDigests {
		eq("signature digest", base64.StdEncoding.EncodeToString(d), wantID.Signatures[i])
	}
	rot := kd.HardwareEnforced.RootOfTrust
	if rot == nil {
		t.Fatal("no rootOfTrust in hardwareEnforced")
	}
	if kd.SoftwareEnforced.RootOfTrust != nil {
		t.Error("unexpected rootOfTrust in softwareEnforced")
	}
	w := want.HardwareEnforced.RootOfTrust
	eq("verifiedBootKey", base64.StdEncoding.EncodeToString(rot.VerifiedBootKey), w.VerifiedBootKey)
	eq("deviceLocked", rot.DeviceLocked, w.DeviceLocked)
	eq("verifiedBootState", map[androidkey.BootState]string{androidkey.BootVerified: "VERIFIED", androidkey.BootSelfSigned: "SELF_SIGNED",
		androidkey.BootUnverified: "UNVERIFIED", androidkey.BootFailed: "FAILED"}[rot.VerifiedBootState], w.VerifiedBootState)
	eq("verifiedBootHash", base64.StdEncoding.EncodeToString(rot.VerifiedBootHash), w.VerifiedBootHash)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDefaultRoots: the built-in roots parse, are self-signed CAs, and hold
// Google's RSA root (three issues of one key) and Key Attestation CA1.
func TestDefaultRoots(t *testing.T) {
	roots := defaultRoots(t)
	serials := map[string]bool{}
	for _, r := range roots {
		if !r.IsCA {
			t.Errorf("%s is not a CA", r.Subject)
		}
		if err := r.CheckSignatureFrom(r); err != nil {
			t.Errorf("%s is not self-signed: %v", r.Subject, err)
		}
		serials[r.SerialNumber.Text(16)] = true
	}
	for _, s := range []string{"e8fa196314d2fa18", "d50ff25ba3f2d6b3", "f1c172a699eaf51d", "84a9d0297b0eb58ae7ff0e80de760605"} {
		if !serials[s] {
			t.Errorf("root with serial %s missing", s)
		}
	}
	if len(roots) != 4 {
		t.Errorf("%d roots", len(roots))
	}
	if _, err := androidkey.ParseRootsPEM(nil); !errors.Is(err, androidkey.ErrMalformed) {
		t.Errorf("ParseRootsPEM(nil) = %v", err)
	}
}
