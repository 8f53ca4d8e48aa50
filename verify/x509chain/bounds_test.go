package x509chain_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// TestChainOverMaxChainSizeRefusedBeforeParsing: a chain of certificates
// each within MaxCertSize but over MaxChainSize in all (what fills an
// attest request) is refused for its size by Parse and VerifyDER before
// anything of it is read: bytes that are no certificate at all get the
// size error, and a chain of the same bytes exactly MaxChainSize long gets
// past it (and is refused for what the bytes are).
func TestChainOverMaxChainSizeRefusedBeforeParsing(t *testing.T) {
	junk := func(sizes ...int) [][]byte {
		out := make([][]byte, len(sizes))
		for i, n := range sizes {
			out[i] = bytes.Repeat([]byte{0xff}, n)
		}
		return out
	}
	third := x509chain.MaxChainSize / 3
	over := junk(third, third, x509chain.MaxChainSize-2*third+1)
	at := junk(third, third, x509chain.MaxChainSize-2*third)
	for name, f := range map[string]func([][]byte) error{
		"Parse":     func(d [][]byte) error { _, err := x509chain.Parse(d); return err },
		"VerifyDER": func(d [][]byte) error { _, err := x509chain.VerifyDER(d, nil, now); return err },
	} {
		err := f(over)
		checkClass(t, err, x509chain.ErrMalformed)
		if !strings.Contains(err.Error(), "in all, at most "+strconv.Itoa(x509chain.MaxChainSize)) {
			t.Errorf("%s: %d bytes refused, but not for their size: %v", name, x509chain.MaxChainSize+1, err)
		}
		if err := f(at); err == nil || strings.Contains(err.Error(), "in all") {
			t.Errorf("%s: %d bytes refused for their size: %v", name, x509chain.MaxChainSize, err)
		}
	}
}

// TestRealChainsWellUnderMaxChainSize: the genuine chains of the shared
// vectors (Keymaster 4 TEE and StrongBox, four certificates; a Pixel's
// remotely provisioned TEE and StrongBox chains, five) verify with
// VerifyDER at their time and are at most a sixth of MaxChainSize, the
// headroom its comment states.
func TestRealChainsWellUnderMaxChainSize(t *testing.T) {
	dir := filepath.Join(platformtest.Vectors(t), "android")
	chains := map[string][][]byte{}
	for _, level := range []string{"TEE", "StrongBox"} {
		var chain [][]byte
		for i := 0; i < 4; i++ {
			b, err := os.ReadFile(filepath.Join(dir, "google-android-key-attestation", "algorithm_EC_SecurityLevel_"+level, "cert"+strconv.Itoa(i)+".der"))
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, b)
		}
		chains["keymaster4-"+level] = chain
	}
	for _, name := range []string{"TEE", "SB"} {
		b, err := os.ReadFile(filepath.Join(dir, "android-keyattestation", "caiman-sdk36-"+name+"_EC_RKP.pem"))
		if err != nil {
			t.Fatal(err)
		}
		var chain [][]byte
		for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
			chain = append(chain, blk.Bytes)
		}
		chains["rkp-"+name] = chain
	}
	for name, chain := range chains {
		total := 0
		for _, c := range chain {
			total += len(c)
		}
		if total*6 > x509chain.MaxChainSize {
			t.Errorf("%s: %d bytes, more than a sixth of MaxChainSize", name, total)
		}
		roots := []*x509.Certificate{parse(t, chain[len(chain)-1])}
		at := parse(t, chain[1]).NotBefore // the latest-issued of those dated
		for _, c := range chain[2 : len(chain)-1] {
			if nb := parse(t, c).NotBefore; nb.After(at) {
				at = nb
			}
		}
		if _, err := x509chain.VerifyDER(chain, roots, at.Add(time.Minute)); err != nil {
			t.Errorf("%s (%d bytes): %v", name, total, err)
		}
	}
}

// TestVerifyDERParsesOnlyWhatItTrusts: the attack of
// eight-max-size-anchored (eight certificates, MaxChainSize in all,
// anchored at a copy of the root, the one under it forged) costs one
// signature check and no parse. A certificate is parsed only once its
// signature verified under a trusted key, and a copy of a root (its key
// byte for byte) only once the chain passed: so a forged certificate, or a
// root copy above one, that crypto/x509 would refuse (a serial number it
// refuses) is refused for the forgery, never reached by the parser, while
// a genuinely signed one that does not parse is refused as malformed.
func TestVerifyDERParsesOnlyWhatItTrusts(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	genuine := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true}, nil, root)
	forged := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true, Signer: p256(t)}, nil, root)
	leafOf := func(n *node) []byte { return issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, n).cert.Raw }
	for _, c := range []struct {
		name  string
		chain [][]byte
		want  error
		sigs  int
	}{
		{"unparsable leaf under a forgery", [][]byte{unparsableSerial(t, parse(t, leafOf(forged))), forged.cert.Raw, root.cert.Raw}, x509chain.ErrSignature, 1},
		{"unparsable forgery", [][]byte{leafOf(forged), unparsableSerial(t, forged.cert), root.cert.Raw}, x509chain.ErrSignature, 1},
		{"unparsable root copy above a forgery", [][]byte{leafOf(forged), forged.cert.Raw, unparsableSerial(t, root.cert)}, x509chain.ErrSignature, 1},
		{"unparsable leaf genuinely signed", [][]byte{resign(t, unparsableSerial(t, parse(t, leafOf(genuine))), genuine.key), genuine.cert.Raw, root.cert.Raw}, x509chain.ErrMalformed, 2},
		{"unparsable root copy above a genuine chain", [][]byte{leafOf(genuine), genuine.cert.Raw, unparsableSerial(t, root.cert)}, x509chain.ErrMalformed, 2},
		{"genuine", [][]byte{leafOf(genuine), genuine.cert.Raw, root.cert.Raw}, nil, 2},
	} {
		var n int
		_, err := x509chain.VerifyDERCounting(c.chain, certs(root), now, &n)
		if c.want == nil && err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if n != c.sigs {
			t.Errorf("%s: %d signatures checked, want %d", c.name, n, c.sigs)
		}
	}
}

// resign is der's TBSCertificate signed anew by key (ECDSA with SHA-256),
// as a certificate.
func resign(t *testing.T, der []byte, key crypto.Signer) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs, alg cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		t.Fatal("not a certificate")
	}
	digest := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	return b.BytesOrPanic()
}

// unparsableSerial is c's DER with its serial number made a non-minimal
// INTEGER of the same length (a leading zero byte before one under 0x80),
// which crypto/x509 refuses and preread does not read.
func unparsableSerial(t *testing.T, c *x509.Certificate) []byte {
	t.Helper()
	serial := c.SerialNumber.Bytes()
	enc := append([]byte{0x02, byte(len(serial))}, serial...)
	if serial[0]&0x80 != 0 {
		enc = append([]byte{0x02, byte(len(serial) + 1), 0}, serial...)
	}
	i := bytes.Index(c.Raw, enc)
	if i < 0 {
		t.Fatal("serial number not found")
	}
	der := bytes.Clone(c.Raw)
	body := der[i+2 : i+len(enc)]
	body[0] = 0
	if len(body) > 1 {
		body[1] &= 0x7f
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		t.Fatal("the certificate still parses")
	}
	return der
}

// TestVerifyDERAgreesWithParseAndVerify: on the genuine and hostile chains
// of a P-256 and an RSA root, VerifyDER passes exactly the chains Parse
// and Verify pass, refuses a key or algorithm outside the allow-list
// before any signature, and checks no more signatures.
func TestVerifyDERAgreesWithParseAndVerify(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []*node{issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil),
		issue(t, platformtest.CertSpec{Subject: "RSA root", CA: true}, rk, nil)} {
		inter := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true}, nil, root)
		chains := map[string][][]byte{"genuine": raws(issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, inter), inter, root)}
		hs, err := platformtest.HostileChains(root.cert, root.key, p256(t).Public())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			chains[h.Name] = h.Chain
		}
		for name, chain := range chains {
			var nOld, nDER int
			certs, errOld := x509chain.Parse(chain)
			if errOld == nil {
				errOld = x509chain.VerifyCounting(certs, []*x509.Certificate{root.cert}, now, &nOld)
			}
			_, errDER := x509chain.VerifyDERCounting(chain, []*x509.Certificate{root.cert}, now, &nDER)
			if (errOld == nil) != (errDER == nil) || nDER > nOld {
				t.Errorf("%s: VerifyDER %v after %d signatures; Parse and Verify %v after %d", name, errDER, nDER, errOld, nOld)
			}
			if errors.Is(errOld, x509chain.ErrKey) && (!errors.Is(errDER, x509chain.ErrKey) || nDER != 0) {
				t.Errorf("%s: VerifyDER %v after %d signatures, want the allow-list's refusal before any", name, errDER, nDER)
			}
		}
	}
}
