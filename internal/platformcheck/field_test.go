package platformcheck_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

var fieldNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// withStatus is a checker over n's registry and roots with the given
// status policy.
func (n *node) withStatus(t *testing.T, sp platformcheck.StatusPolicy) *platformcheck.Checker {
	t.Helper()
	c, err := platformcheck.New(platformcheck.Config{AndroidRoots: n.android.Roots(), AppleRoots: n.apple.Roots(), ReceiptTTL: 30 * 24 * time.Hour, Keys: n.reg, Status: sp})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fieldApp is the android app of the fixture with a §9 policy.
func (n *node) fieldApp(t *testing.T, mod func(*registry.App)) *registry.App {
	t.Helper()
	a := *n.app(t, testenv.App)
	if mod != nil {
		mod(&a)
	}
	return &a
}

// fieldLeaf is a TEE leaf of a locked, verified Android 15 device patched
// in November 2026, of version code 421, for nonce.
func (n *node) fieldLeaf(d device, nonce string) platformtest.AndroidLeaf {
	var signer [32]byte
	copy(signer[:], n.f.Signer)
	return platformtest.AndroidLeaf{DeviceKey: &d.key.PublicKey, Challenge: platformtest.AndroidChallenge([]byte(nonce)), Package: testenv.App,
		Signer: signer, OSVersion: 150000, OSPatchLevel: 202611, VendorPatchLevel: 20261105, BootPatchLevel: 20261105, VersionCode: 421}
}

func (n *node) run(t *testing.T, c *platformcheck.Checker, app *registry.App, d device, nonce string, raw []byte, version string, now time.Time) attest.PlatformResult {
	t.Helper()
	in := attest.PlatformInput{Raw: raw, App: app, Nonce: []byte(nonce), Device: d.dk, Version: []byte(version), Now: now}
	copy(in.Signer[:], n.f.Signer)
	return c.Check(context.Background(), in)
}

func (n *node) leafEvidence(t *testing.T, l platformtest.AndroidLeaf) []byte {
	t.Helper()
	raw, err := n.android.LeafEvidence(l)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func refusedFor(t *testing.T, res attest.PlatformResult, precise string) {
	t.Helper()
	if want := []string{attest.ReasonPAInvalid, precise}; res.Verified || !slices.Equal(res.Reasons, want) {
		t.Fatalf("result %+v, want reasons %v", res, want)
	}
}

func statusList(t *testing.T, serials ...fmt.Stringer) *androidkey.StatusList {
	t.Helper()
	doc := `{"entries":{`
	for i, s := range serials {
		if i > 0 {
			doc += ","
		}
		doc += fmt.Sprintf(`"%s":{"status":"REVOKED"}`, s)
	}
	l, err := androidkey.ParseStatusList([]byte(doc + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type hexSerial struct{ b []byte }

func (h hexSerial) String() string { return fmt.Sprintf("%x", h.b) }

// TestReceiptRefusedAfterChainRevoked: a receipt records its chain's
// serials; once the status list names the intermediate, the receipt is
// refused with android_revoked, as new evidence through it is.
func TestReceiptRefusedAfterChainRevoked(t *testing.T) {
	n := newNode(t)
	c := n.withStatus(t, platformcheck.StatusPolicy{Configured: true, MaxAge: 24 * time.Hour})
	c.SetStatus(statusList(t), fieldNow)
	app, d := n.fieldApp(t, nil), newDevice(t)
	res := n.run(t, c, app, d, "v1.n1", n.leafEvidence(t, n.fieldLeaf(d, "v1.n1")), testenv.Version, fieldNow)
	if !res.Verified {
		t.Fatalf("enrolment: %+v", res)
	}
	use := func() attest.PlatformResult {
		return n.run(t, c, app, d, "v1.n2", receiptJSON(res.Receipt), testenv.Version, fieldNow.Add(time.Hour))
	}
	if r := use(); !r.Verified {
		t.Fatalf("receipt before the revocation: %+v", r)
	}
	c.SetStatus(statusList(t, hexSerial{n.android.Intermediate.SerialNumber.Bytes()}), fieldNow.Add(time.Hour))
	refusedFor(t, use(), androidkey.ReasonRevoked)
	d2 := newDevice(t)
	refusedFor(t, n.run(t, c, app, d2, "v1.n3", n.leafEvidence(t, n.fieldLeaf(d2, "v1.n3")), testenv.Version, fieldNow.Add(time.Hour)), androidkey.ReasonRevoked)
}

// TestStaleStatusList: past --android-status-max-age, fail closed refuses
// android-key evidence and receipts (android_status_stale) and counts
// them; fail open judges them against the stale list and counts them; an
// apple receipt is no concern of the Android list; without a configured
// list nothing is ever stale; a fresh list ends it.
func TestStaleStatusList(t *testing.T) {
	n := newNode(t)
	app, d := n.fieldApp(t, nil), newDevice(t)
	open := n.withStatus(t, platformcheck.StatusPolicy{Configured: true, MaxAge: 24 * time.Hour})
	open.SetStatus(statusList(t), fieldNow)
	enrol := n.run(t, open, app, d, "v1.n1", n.leafEvidence(t, n.fieldLeaf(d, "v1.n1")), testenv.Version, fieldNow)
	if !enrol.Verified {
		t.Fatal(enrol)
	}
	late := fieldNow.Add(24*time.Hour + time.Second)
	closed := n.withStatus(t, platformcheck.StatusPolicy{Configured: true, MaxAge: 24 * time.Hour, FailClosed: true})
	closed.SetStatus(statusList(t), fieldNow)
	if r := n.run(t, closed, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, fieldNow.Add(24*time.Hour)); !r.Verified {
		t.Fatalf("at exactly the maximum age: %+v", r)
	}
	refusedFor(t, n.run(t, closed, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, late), androidkey.ReasonStatusStale)
	d2 := newDevice(t)
	refusedFor(t, n.run(t, closed, app, d2, "v1.n3", n.leafEvidence(t, n.fieldLeaf(d2, "v1.n3")), testenv.Version, late), androidkey.ReasonStatusStale)
	if s := closed.Stats(); s.StaleEvidence != [2]uint64{0, 1} || s.StaleReceipts != [2]uint64{0, 1} {
		t.Errorf("closed stats %+v", s)
	}
	if r := n.run(t, open, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, late); !r.Verified {
		t.Fatalf("fail open: %+v", r)
	}
	if s := open.Stats(); s.StaleReceipts != [2]uint64{1, 0} {
		t.Errorf("open stats %+v", s)
	}
	closed.SetStatus(statusList(t), late)
	if r := n.run(t, closed, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, late); !r.Verified {
		t.Fatalf("after a fresh list: %+v", r)
	}
	// Never loaded: stale from the start.
	never := n.withStatus(t, platformcheck.StatusPolicy{Configured: true, MaxAge: time.Hour, FailClosed: true})
	refusedFor(t, n.run(t, never, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, fieldNow), androidkey.ReasonStatusStale)
	if _, loaded := never.StatusAge(fieldNow); loaded {
		t.Error("a list never loaded has an age")
	}
	// Not configured: never stale.
	none := n.withStatus(t, platformcheck.StatusPolicy{MaxAge: time.Hour, FailClosed: true})
	if r := n.run(t, none, app, d, "v1.n2", receiptJSON(enrol.Receipt), testenv.Version, late.Add(100*time.Hour)); !r.Verified {
		t.Fatalf("without a list: %+v", r)
	}
	// An apple receipt does not depend on the Android list.
	ios := newDevice(t)
	ir := n.enrol(t, testenv.AppIOS, ios)
	if r := n.run(t, never, n.app(t, testenv.AppIOS), ios, "v1.n4", receiptJSON(ir), testenv.Version, time.Now()); !r.Verified {
		t.Fatalf("apple receipt under a stale android list: %+v", r)
	}
}

// TestReceiptRechecksFieldPolicy: what a receipt recorded is checked
// against the §9 policy on each use: the patch level once the clock makes
// it too old, the OS version and the version code registered for the
// app.version of the request; and a self-signed boot key once delisted
// (android_boot_key, like the others; receipt_policy once no key is listed
// at all, as a self-signed boot is then a boot state the policy refuses).
func TestReceiptRechecksFieldPolicy(t *testing.T) {
	n := newNode(t)
	c := n.withStatus(t, platformcheck.StatusPolicy{})
	days, osv := 60, int64(150000)
	custom := sha256.Sum256([]byte("grapheneos-like boot key"))
	app := n.fieldApp(t, func(a *registry.App) {
		a.Policy.AndroidMaxPatchAgeDays, a.Policy.AndroidMinOSVersion = &days, &osv
		a.VersionCodes = map[string]int64{testenv.Version: 421}
		a.BootKeys = [][32]byte{custom}
	})
	d := newDevice(t)
	l := n.fieldLeaf(d, "v1.n1")
	l.BootState, l.BootKey = androidkey.BootSelfSigned, custom[:]
	enrol := n.run(t, c, app, d, "v1.n1", n.leafEvidence(t, l), testenv.Version, fieldNow)
	if !enrol.Verified {
		t.Fatalf("enrolment: %+v", enrol)
	}
	use := func(app *registry.App, version string, now time.Time) attest.PlatformResult {
		return n.run(t, c, app, d, "v1.n2", receiptJSON(enrol.Receipt), version, now)
	}
	if r := use(app, testenv.Version, fieldNow); !r.Verified {
		t.Fatalf("receipt: %+v", r)
	}
	// 2026-11-01 + 60 days = 2026-12-31.
	refusedFor(t, use(app, testenv.Version, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), androidkey.ReasonPatchLevel)
	stricter := *app
	higher := int64(160000)
	stricter.Policy.AndroidMinOSVersion = &higher
	refusedFor(t, use(&stricter, testenv.Version, fieldNow), androidkey.ReasonOSVersion)
	updated := *app
	updated.VersionCodes = map[string]int64{testenv.Version: 430}
	refusedFor(t, use(&updated, testenv.Version, fieldNow), androidkey.ReasonVersionCode)
	refusedFor(t, use(app, "9.9.9", fieldNow), androidkey.ReasonVersionCode)
	delisted := *app
	delisted.BootKeys = [][32]byte{sha256.Sum256([]byte("another"))}
	refusedFor(t, use(&delisted, testenv.Version, fieldNow), androidkey.ReasonBootKey)
	// No list at all: a self-signed boot is a boot state the policy does
	// not allow, as for evidence (android_boot_state there).
	unlisted := *app
	unlisted.BootKeys = nil
	refusedFor(t, use(&unlisted, testenv.Version, fieldNow), "receipt_policy")
	// The same checks on evidence.
	l.Challenge = platformtest.AndroidChallenge([]byte("v1.n3"))
	refusedFor(t, n.run(t, c, &delisted, d, "v1.n3", n.leafEvidence(t, l), testenv.Version, fieldNow), androidkey.ReasonBootKey)
	refusedFor(t, n.run(t, c, &unlisted, d, "v1.n3", n.leafEvidence(t, l), testenv.Version, fieldNow), androidkey.ReasonBootState)
	refusedFor(t, n.run(t, c, &updated, d, "v1.n3", n.leafEvidence(t, n.fieldLeaf(d, "v1.n3")), testenv.Version, fieldNow), androidkey.ReasonVersionCode)
	refusedFor(t, n.run(t, c, app, d, "v1.n3", n.leafEvidence(t, n.fieldLeaf(d, "v1.n3")), "9.9.9", fieldNow), androidkey.ReasonVersionCode)
}

// TestReceiptWithoutSerialsAcceptedUntilExpiry: an android-key receipt
// issued before §9 (no serials, no fields) is accepted and counted under
// the policy of §7, and refused by a §9 policy member it did not record.
func TestReceiptWithoutSerialsAcceptedUntilExpiry(t *testing.T) {
	n := newNode(t)
	c := n.withStatus(t, platformcheck.StatusPolicy{Configured: true, MaxAge: time.Hour})
	c.SetStatus(statusList(t, hexSerial{n.android.Intermediate.SerialNumber.Bytes()}), fieldNow)
	d := newDevice(t)
	dep, err := n.reg.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	ks := dep.Receipt
	ring, err := receipt.NewKeyring(receipt.Key{ID: ks.Active, Secret: ks.ActiveKey()})
	if err != nil {
		t.Fatal(err)
	}
	old, err := ring.Issue(receipt.Receipt{AppID: testenv.App, DID: d.dk.DID(), Format: receipt.FormatAndroidKey, SecurityLevel: "tee",
		BootState: "verified", DeviceLocked: true, ExpiresAt: fieldNow.Add(24 * time.Hour)}, fieldNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	app := n.fieldApp(t, nil)
	for i := 0; i < 2; i++ {
		if r := n.run(t, c, app, d, "v1.n", receiptJSON(old), testenv.Version, fieldNow); !r.Verified {
			t.Fatalf("pre-§9 receipt: %+v", r)
		}
	}
	if got := c.Stats().ReceiptsWithoutSerials; got != 2 {
		t.Errorf("counted %d uses", got)
	}
	days := 30
	strict := n.fieldApp(t, func(a *registry.App) { a.Policy.AndroidMaxPatchAgeDays = &days })
	refusedFor(t, n.run(t, c, strict, d, "v1.n", receiptJSON(old), testenv.Version, fieldNow), androidkey.ReasonPatchLevel)
	r := n.run(t, c, app, d, "v1.n", receiptJSON(old), testenv.Version, fieldNow.Add(24*time.Hour))
	if r.Verified || !slices.Equal(r.Reasons, []string{attest.ReasonPAExpired}) {
		t.Errorf("after its expiry: %+v", r)
	}
}
