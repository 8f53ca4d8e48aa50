package try

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/testenv"
)

// deployment is a file store made with attestctl, served by a real node.
type deployment struct {
	t   *testing.T
	dir string
	url string
}

func newDeployment(t *testing.T) *deployment {
	dir := filepath.Join(t.TempDir(), "data")
	d := &deployment{t: t, dir: dir, url: "file://" + dir}
	d.ok("init")
	return d
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs attestctl (with try built in) on the deployment's store.
func (d *deployment) ctl(args ...string) result {
	d.t.Helper()
	return run(append([]string{"--store", d.url}, args...)...)
}

func run(args ...string) result {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := ctl.Config{Try: Main, Program: "attestctl"}.Main(ctx, args, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (d *deployment) ok(args ...string) result {
	d.t.Helper()
	r := d.ctl(args...)
	if r.code != 0 {
		d.t.Fatalf("attestctl %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func (d *deployment) node(edit func(*daemon.Config)) *testenv.Node {
	d.t.Helper()
	return testenv.StartNode(d.t, &testenv.Store{Dir: d.dir, URL: d.url}, testenv.Options{Edit: edit})
}

// synced waits until node n serves the store's current revision (nodes
// apply changes within 2 s).
func (d *deployment) synced(n *testenv.Node) {
	d.t.Helper()
	n.AwaitRevision(d.t, (&testenv.Store{URL: d.url}).Revision(d.t), 10*time.Second)
}

// pasted runs a printed hint as a user who pastes it would (the shell
// splits it), with more arguments appended.
func pasted(t *testing.T, line string, more ...string) result {
	t.Helper()
	words := sh(t, line)
	if words[0] != "attestctl" {
		t.Fatalf("hint %q does not run attestctl", line)
	}
	return run(append(words[1:], more...)...)
}

func hintAfter(t *testing.T, out, marker string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, marker); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no %q in:\n%s", marker, out)
	return ""
}

func b64u(label string) string {
	s := sha256.Sum256([]byte(label))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func expect(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout+r.stderr, w) {
			t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", w, r.stdout, r.stderr)
		}
	}
}

// TestRegisteredAppPassesTry is a new user's first hour: an account and an
// app made with attestctl on a real store, a real node serving it, and the
// try command that app add printed, pasted, gets a passing verdict, told
// by the token's signature (the accounts do not annotate tokens): the
// store's HS256 secret for one account, the node's JWKS for the other.
// Wrong values fail, with a non-zero exit.
func TestRegisteredAppPassesTry(t *testing.T) {
	d := newDeployment(t)
	d.ok("account", "add", "acme")
	d.ok("account", "add", "acme-es", "--alg", "ES256", "--kid", "e1")
	hs := d.ok("app", "add", "acme", "com.acme.app", "--platform", "android", "--signer", b64u("signer"),
		"--version", "1.0", "--code-digest", b64u("code")).stdout
	es := d.ok("app", "add", "acme-es", "com.acme.es", "--platform", "ios", "--team-id", "TEAM123456",
		"--signer", b64u("signer-es"), "--version", "7", "--code-digest", b64u("code-es")).stdout
	n := d.node(nil)

	hsTry := hintAfter(t, hs, "against a running node: ")
	expect(t, pasted(t, hsTry, "--url", n.Base), 0, "verdict: PASSED (the token verifies with key k1 of account acme)",
		"secrets: none (no secret of the account lists this app)")
	expect(t, pasted(t, hintAfter(t, es, "against a running node: "), "--url", n.Base), 0,
		"verdict: PASSED (the token verifies with key e1 of account acme-es)")

	// The wrong code digest: a decoy, told by its signature, exit 1.
	expect(t, d.ctl("try", "--url", n.Base, "--app", "com.acme.app", "--signer", b64u("signer"), "--version", "1.0",
		"--code-digest", b64u("other")), 1, "verdict: FAILED", "decoy", "annotate")
	// An annotating account says why.
	d.ok("account", "add", "acme-annot", "--annotate")
	d.ok("app", "add", "acme-annot", "com.acme.annot", "--platform", "android", "--signer", b64u("s"), "--version", "2", "--code-digest", b64u("c"))
	d.synced(n)
	expect(t, d.ctl("try", "--url", n.Base, "--app", "com.acme.annot", "--signer", b64u("s"), "--version", "3", "--code-digest", b64u("c")),
		1, "verdict: FAILED: version_unknown", "app version add")
	expect(t, d.ctl("try", "--url", n.Base, "--app", "com.acme.annot", "--signer", b64u("s"), "--version", "2", "--code-digest", b64u("c")),
		0, "verdict: PASSED (arc is empty)", "verifies with key k1 of account acme-annot")
	expect(t, d.ctl("try", "--url", n.Base, "--app", "com.acme.annot", "--signer", b64u("s"), "--version", "2", "--code-digest", b64u("c"),
		"--account", "acme"), 1, `for account "acme-annot", not "acme"`)
	// An unregistered app.
	expect(t, d.ctl("try", "--url", n.Base, "--app", "com.nobody", "--signer", b64u("s"), "--version", "1", "--code-digest", b64u("c")),
		1, "app_unknown", "does not know app com.nobody")
}

// TestTryWithoutDemoFailsClearly: try (the demo app) against a node whose
// store has no demo is a failure that says so and exits 1, where it used
// to print "verdict: unknown" and exit 0.
func TestTryWithoutDemoFailsClearly(t *testing.T) {
	d := newDeployment(t)
	n := d.node(nil)
	r := d.ctl("try", "--url", n.Base)
	expect(t, r, 1, "verdict: FAILED: app_unknown", "demo app com.example.demo", "init --demo")
	if strings.Contains(r.stdout, "unknown (") {
		t.Errorf("the old wording: %s", r.stdout)
	}
	// With the demo, it passes; --rooted shows a failed verdict.
	d.ok("init", "--demo")
	d.synced(n)
	expect(t, d.ctl("try", "--url", n.Base), 0, "verdict: PASSED", "demo_api_key: ", "bytes")
	expect(t, d.ctl("try", "--url", n.Base, "--rooted"), 1, "verdict: FAILED: rooted")
}

// TestTryHTTPSWithCA: --ca trusts a node's HTTPS listener signed by a
// private CA; without it the certificate is refused.
func TestTryHTTPSWithCA(t *testing.T) {
	d := newDeployment(t)
	d.ok("init", "--demo")
	ca, cert, key := certFiles(t)
	port := freePort(t)
	n := d.node(func(c *daemon.Config) {
		c.TLSListen = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		c.TLSCert, c.TLSKey = cert, key
	})
	_ = n
	u := "https://127.0.0.1:" + itoa(port)
	expect(t, d.ctl("try", "--url", u, "--ca", ca), 0, "verdict: PASSED")
	expect(t, d.ctl("try", "--url", u), 1, "certificate")
	expect(t, d.ctl("try", "--url", u, "--ca", cert+".missing"), 2, "--ca")
	expect(t, d.ctl("try", "--url", u, "--ca", key), 2, "no PEM certificate")
}

// TestTryBundle takes the app from a bundle: the repository's example,
// imported on a demo store. Its policy requires platform attestation, so
// try (no hardware) gets a decoy, which it tells by the store's key.
func TestTryBundle(t *testing.T) {
	d := newDeployment(t)
	d.ok("init", "--demo")
	example := filepath.Join("..", "..", "examples", "bundle.json")
	d.ok("import", example)
	n := d.node(nil)
	expect(t, d.ctl("try", "--url", n.Base, "--bundle", example, "--version", "3.9.0"), 1,
		"attesting app com.wayfarer.trips version 3.9.0", "verdict: FAILED", "decoy", "platform_attestation: required", "which try cannot produce")
	expect(t, d.ctl("try", "--url", n.Base, "--bundle", example), 2, "--version", "3.8.0, 3.9.0")
	expect(t, d.ctl("try", "--url", n.Base, "--bundle", example, "--app", "com.other"), 2, "no app", "com.wayfarer.trips")
	expect(t, d.ctl("try", "--url", n.Base, "--bundle", example, "--signer", b64u("x")), 2, "drop --signer")
}

// TestTryUsageNamesTheFlag: incomplete or malformed app values are usage
// errors naming the flag; no request is sent.
func TestTryUsageNamesTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--app", "com.x", "--version", "1", "--code-digest", b64u("c")}, "--signer"},
		{[]string{"--app", "com.x", "--signer", b64u("s"), "--code-digest", b64u("c")}, "--version"},
		{[]string{"--app", "com.x", "--signer", "short", "--version", "1", "--code-digest", b64u("c")}, "--signer: not a 32-byte digest"},
		{[]string{"--app", "com.x", "--signer", b64u("s"), "--version", "1", "--code-digest", "zz"}, "--code-digest"},
		{[]string{"--app", "com.x", "--signer", b64u("s"), "--version", "1", "--code-digest", b64u("c"), "--platform", "web"}, "--platform"},
		{[]string{"--signer", b64u("s")}, "needs --app"},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		r := run(append([]string{"try", "--url", "http://127.0.0.1:1"}, c.args...)...)
		expect(t, r, 2, c.want)
	}
	r := run("help", "try")
	expect(t, r, 0, "usage: attestctl try", "--ca", "--bundle", "Exit status")
}

// TestTryUnknownWithoutKeys: an account that does not annotate, signing
// HS256, whose store try cannot read, gives no verdict try could stand by:
// it says so and exits 1 rather than 0.
func TestTryUnknownWithoutKeys(t *testing.T) {
	d := newDeployment(t)
	d.ok("account", "add", "acme")
	d.ok("app", "add", "acme", "com.acme.app", "--platform", "android", "--signer", b64u("s"), "--version", "1", "--code-digest", b64u("c"))
	n := d.node(nil)
	other := "file://" + filepath.Join(t.TempDir(), "elsewhere")
	expect(t, run("--store", other, "try", "--url", n.Base, "--app", "com.acme.app", "--signer", b64u("s"), "--version", "1", "--code-digest", b64u("c")),
		1, "verdict: UNKNOWN", "does not annotate", "no store at")
	// Global flags are accepted after "try" too.
	expect(t, run("try", "--store", d.url, "--url", n.Base, "--app", "com.acme.app", "--signer", b64u("s"), "--version", "1", "--code-digest", b64u("c")),
		0, "verdict: PASSED")
}

// TestTryPassWithoutKeysSaysUnchecked: an annotating account's empty arc
// is a pass, but when try cannot read the account's keys (a store it was
// not given, an etcd away) it says the token's signature was not checked,
// and why, rather than let the pass read as checked.
func TestTryPassWithoutKeysSaysUnchecked(t *testing.T) {
	d := newDeployment(t)
	dir := filepath.Join(t.TempDir(), "demo")
	run("--store", "file://"+dir, "init", "--demo")
	n := testenv.StartNode(t, &testenv.Store{Dir: dir, URL: "file://" + dir}, testenv.Options{})
	r := run("--store", d.url, "try", "--url", n.Base)
	expect(t, r, 0, "verdict: PASSED (arc is empty)", "the token's signature was not checked", "has no account demo")
	if strings.Contains(r.stdout, "the token verifies with key") {
		t.Errorf("an unchecked pass says it verified:\n%s", r.stdout)
	}
	expect(t, run("--store", "file://"+dir, "try", "--url", n.Base), 0, "verdict: PASSED (arc is empty)", "the token verifies with key k1 of account demo",
		"secrets (JWE decrypted with the device key; sizes only, values with --show-secrets):\n  demo_api_key: 37 bytes")
	shown := run("--store", "file://"+dir, "try", "--url", n.Base, "--show-secrets")
	expect(t, shown, 0, "secrets (JWE decrypted with the device key):\n  demo_api_key: ")
	if strings.Contains(shown.stdout, "sizes only") {
		t.Errorf("--show-secrets still says sizes only:\n%s", shown.stdout)
	}
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func itoa(p uint16) string { return big.NewInt(int64(p)).String() }

// certFiles writes a CA and a leaf for 127.0.0.1 signed by it (PEM).
func certFiles(t *testing.T) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "try test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "PRIVATE KEY", keyDER)
}
