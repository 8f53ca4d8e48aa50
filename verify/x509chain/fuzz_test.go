package x509chain_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// fuzzNow is the fixed time of FuzzVerifyChain; the committed corpus's
// genuine chains are valid 2000-2100.
var fuzzNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fuzzRoots are the fixed roots of FuzzVerifyChain: a P-256 and an
// RSA-2048 test root (testdata/fuzz-roots.pem; their private keys were
// thrown away once the corpus was made, see TestWriteChainCorpus).
func fuzzRoots(t testing.TB) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz-roots.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := x509chain.ParseRootsPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return roots
}

// splitDER cuts b into DER elements (a chain as concatenated certificates);
// what does not parse as one is the last element. It stops after
// MaxCerts+2 elements.
func splitDER(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 && len(out) < x509chain.MaxCerts+2 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(b, &v)
		if err != nil {
			return append(out, b)
		}
		out = append(out, b[:len(b)-len(rest)])
		b = rest
	}
	return out
}

// FuzzVerifyChain runs Parse and Verify, and VerifyDER, over arbitrary DER
// lists (the input is the certificates concatenated) against fixed roots,
// counting the signatures checked. VerifyDER passes what Parse and Verify
// pass, and no more, after no more signatures. It holds that: every error wraps exactly one
// sentinel; a key or algorithm outside the allow-list anywhere is ErrKey
// and no signature was checked; at most len(chain)-1 signatures plus one
// per root are checked; and a chain that passes is one crypto/x509 agrees
// with, signature by signature, with its dates as §7 says. The committed
// corpus (testdata/fuzz/FuzzVerifyChain) holds genuine chains under both
// roots and the attacker's chains of platformtest.HostileChains.
func FuzzVerifyChain(f *testing.F) {
	roots := fuzzRoots(f)
	for _, r := range roots {
		f.Add(r.Raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ders := splitDER(b)
		var nDER int
		_, errDER := x509chain.VerifyDERCounting(ders, roots, fuzzNow, &nDER)
		if errDER != nil {
			checkOneClass(t, errDER)
		}
		certs, err := x509chain.Parse(ders)
		if err != nil {
			checkClass(t, err, x509chain.ErrMalformed)
			if errDER == nil {
				t.Fatalf("VerifyDER passed a chain Parse refuses: %v", err)
			}
			return
		}
		var n int
		err = x509chain.VerifyCounting(certs, roots, fuzzNow, &n)
		if (err == nil) != (errDER == nil) || nDER > n || errors.Is(err, x509chain.ErrKey) && (!errors.Is(errDER, x509chain.ErrKey) || nDER != 0) {
			t.Fatalf("VerifyDER %v after %d signatures; Parse and Verify %v after %d", errDER, nDER, err, n)
		}
		if err != nil {
			checkOneClass(t, err)
		}
		if n > len(certs)-1+len(roots) {
			t.Fatalf("%d signatures checked for %d certificates", n, len(certs))
		}
		allowed := true
		for _, c := range certs {
			allowed = allowed && x509chain.CheckAlgorithms(c) == nil
		}
		if !allowed && !errors.Is(err, x509chain.ErrKey) {
			t.Fatalf("a key outside the allow-list, and %v", err)
		}
		if errors.Is(err, x509chain.ErrKey) && n != 0 {
			t.Fatalf("ErrKey after %d signatures", n)
		}
		if err == nil {
			agree(t, certs, roots)
		}
	})
}

// checkOneClass asserts that err wraps exactly one sentinel.
func checkOneClass(t *testing.T, err error) {
	t.Helper()
	k := 0
	for _, s := range []error{x509chain.ErrMalformed, x509chain.ErrKey, x509chain.ErrSignature, x509chain.ErrRoot, x509chain.ErrValidity} {
		if errors.Is(err, s) {
			k++
		}
	}
	if k != 1 {
		t.Fatalf("error wraps %d sentinels: %v", k, err)
	}
}

// agree re-checks a chain Verify passed with crypto/x509 directly: the last
// certificate has a root's key or a CA root signed it, each certificate is
// signed by the next, no signer says it is not a CA, and the certificates
// between the anchor and the leaf are valid at fuzzNow.
func agree(t *testing.T, certs, roots []*x509.Certificate) {
	t.Helper()
	last := len(certs) - 1
	var anchor *x509.Certificate // the root certs[last] stands for
	bySig := false
	for _, r := range roots {
		if r.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(certs[last].PublicKey) {
			anchor = r
		}
		if notCA(r) {
			continue
		}
		if r.CheckSignature(certs[last].SignatureAlgorithm, certs[last].RawTBSCertificate, certs[last].Signature) == nil {
			bySig = true
		}
	}
	if anchor == nil && !bySig {
		t.Fatal("passed without an anchor")
	}
	for i := 0; i < last; i++ {
		signer := certs[i+1]
		if i+1 == last && anchor != nil {
			signer = anchor
		}
		if notCA(signer) {
			t.Fatalf("passed, but certificate %d is signed by one that is no CA", i)
		}
		if err := certs[i+1].CheckSignature(certs[i].SignatureAlgorithm, certs[i].RawTBSCertificate, certs[i].Signature); err != nil {
			t.Fatalf("passed, but certificate %d is not signed by %d: %v", i, i+1, err)
		}
	}
	end := last
	if anchor == nil {
		end = last + 1
	}
	for i := 1; i < end; i++ {
		if c := certs[i]; fuzzNow.Before(c.NotBefore) || fuzzNow.After(c.NotAfter) {
			t.Fatalf("passed, but certificate %d is outside its validity", i)
		}
	}
}

func notCA(c *x509.Certificate) bool { return c.BasicConstraintsValid && !c.IsCA }

// TestFuzzCorpusMeaning: the committed corpus keeps its meaning at fuzzNow
// against the fixed roots: the genuine chains and the expired root copies
// pass, every other entry is refused.
func TestFuzzCorpusMeaning(t *testing.T) {
	roots := fuzzRoots(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyChain")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 20 {
		t.Fatalf("%d corpus entries", len(entries))
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")\n")
		in, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: not a corpus file", e.Name())
		}
		certs, err := x509chain.Parse(splitDER([]byte(in)))
		if err == nil {
			err = x509chain.Verify(certs, roots, fuzzNow)
		}
		pass := strings.HasPrefix(e.Name(), "genuine-") || strings.HasPrefix(e.Name(), "expired-root-copy-")
		if pass != (err == nil) {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}

// FuzzPrereadAgrees: for any DER that crypto/x509 parses, preread answers
// as CheckAlgorithms does on the parsed certificate (nil, or ErrKey), so
// that VerifyDER applies §7's allow-list to every certificate before it
// parses any, and reads the public key, the signature algorithm, the
// signed bytes and the signature as the parser does (VerifyDER checks a
// signature before parsing its certificate); for DER that does not parse,
// its error wraps one sentinel.
// The committed corpus (testdata/fuzz/FuzzPrereadAgrees) holds a
// certificate of each key and signature algorithm, allowed or not (RSA-PSS
// with each hash included); the shared real vectors are added when
// present.
func FuzzPrereadAgrees(f *testing.F) {
	var s recordSkip
	if dir := platformtest.Vectors(&s); !s.skipped {
		for _, p := range []string{"google-android-key-attestation/algorithm_EC_SecurityLevel_TEE", "google-android-key-attestation/algorithm_EC_SecurityLevel_StrongBox"} {
			for i := 0; i < 4; i++ {
				if b, err := os.ReadFile(filepath.Join(dir, "android", p, "cert"+strconv.Itoa(i)+".der")); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		got := x509chain.Preread(der)
		if got != nil {
			checkOneClass(t, got)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		want := x509chain.CheckAlgorithms(c)
		if (got == nil) != (want == nil) || errors.Is(got, x509chain.ErrKey) != errors.Is(want, x509chain.ErrKey) {
			t.Fatalf("preread: %v; CheckAlgorithms on the parsed certificate: %v", got, want)
		}
		if got != nil {
			return
		}
		spki, alg, tbs, sig, ok, _ := x509chain.PrereadParts(der)
		if !bytes.Equal(spki, c.RawSubjectPublicKeyInfo) {
			t.Fatalf("preread's public key %x, parsed %x", spki, c.RawSubjectPublicKeyInfo)
		}
		if ok && (alg != c.SignatureAlgorithm || !bytes.Equal(tbs, c.RawTBSCertificate) || !bytes.Equal(sig, c.Signature)) {
			t.Fatalf("preread's signed part %v %x %x, parsed %v %x %x", alg, tbs, sig, c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
		}
	})
}
