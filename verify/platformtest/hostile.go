package platformtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/attestd/attestd/verify/x509chain"
)

// Hostile is a certificate chain built to make a verifier work, with what
// a PROTOCOL.md §7 verifier that trusts the root it was built against must
// answer.
type Hostile struct {
	Name  string
	Chain [][]byte // DER, leaf first
	// Want is the x509chain sentinel of the refusal.
	Want error
	// Signatures is the most signatures a §7 verifier trusting only that
	// root checks before refusing the chain.
	Signatures int
}

// HostileChainsBodyLimit is the largest total DER size of a hostile chain
// HostileChains builds, so that each fits one attest request (64 KiB of
// JSON, the chain in base64url).
const HostileChainsBodyLimit = 46 << 10

// HostileChains builds the attacker's chains against a trusted root (P-256
// or RSA) and its key: the chains the §7 allow-list refuses before any
// signature (the largest RSA key a chain of x509chain.MaxChainSize holds,
// 88,000 bits with e = 2^31-1 under a leaf with an 11,000-byte signature,
// e = 2^31-1 on 2048 bits, a 16,384-bit key, SHA-1 signatures made by the
// root itself, Ed25519 and P-521 keys), the most work a chain within the
// bounds asks (eight certificates, MaxChainSize bytes in all, anchored at
// a copy of the root, the forged one under it of MaxCertSize), a forged
// certificate naming the root, and chains out of bounds, refused before
// they are parsed: nine certificates, one over MaxCertSize, the
// 120,000-bit key of the original finding under a 15,000-byte signature
// and eight certificates filling a request (HostileChainsBodyLimit), both
// over MaxChainSize. leaf is the leaf's key.
func HostileChains(root *x509.Certificate, rootKey crypto.Signer, leaf crypto.PublicKey) ([]Hostile, error) {
	var out []Hostile
	for _, b := range []func(*x509.Certificate, crypto.Signer, crypto.PublicKey) (Hostile, error){
		func(r *x509.Certificate, _ crypto.Signer, l crypto.PublicKey) (Hostile, error) {
			h, err := hugeRSA("huge-rsa-120000-e31", 120_000, 1<<31-1, 15_000, r, l)
			h.Want = x509chain.ErrMalformed // over MaxChainSize
			return h, err
		},
		func(r *x509.Certificate, _ crypto.Signer, l crypto.PublicKey) (Hostile, error) {
			return hugeRSA("huge-rsa-88000-e31", 88_000, 1<<31-1, 11_000, r, l)
		},
		func(r *x509.Certificate, _ crypto.Signer, l crypto.PublicKey) (Hostile, error) {
			return hugeRSA("rsa-2048-e31", 2048, 1<<31-1, 256, r, l)
		},
		func(r *x509.Certificate, _ crypto.Signer, l crypto.PublicKey) (Hostile, error) {
			return hugeRSA("rsa-16384", 16384, 65537, 2048, r, l)
		},
		sha1Chain, curveChain("ed25519-intermediate"), curveChain("p521-intermediate"),
		eightAnchored, eightBodySize, forgedUnderRoot, outOfBounds("nine-certificates"), outOfBounds("oversized-certificate"),
	} {
		h, err := b(root, rootKey, leaf)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// throwaway is a fresh P-256 key that nobody trusts.
func throwaway() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// hugeRSA: an "intermediate" with an RSA key of bits bits and exponent e
// (no private key exists), under a leaf whose RSA signature is sigLen
// random bytes, then a copy of the root.
func hugeRSA(name string, bits, e, sigLen int, root *x509.Certificate, leaf crypto.PublicKey) (Hostile, error) {
	key, err := RandomRSAKey(bits, e)
	if err != nil {
		return Hostile{}, err
	}
	forger, err := throwaway()
	if err != nil {
		return Hostile{}, err
	}
	inter, err := CertSpec{Subject: name, Key: key, Issuer: root, Signer: forger, CA: true}.DER()
	if err != nil {
		return Hostile{}, err
	}
	interCert, err := x509.ParseCertificate(inter)
	if err != nil {
		return Hostile{}, err
	}
	// Signed by a throwaway RSA key for the algorithm, then the signature
	// replaced: the verifier would raise it to e modulo the huge key.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Hostile{}, err
	}
	l, err := CertSpec{Subject: "Android Keystore Key", Key: leaf, Issuer: interCert, Signer: rk,
		SignatureAlgorithm: x509.SHA256WithRSA, Signature: RandomBytes(sigLen)}.DER()
	if err != nil {
		return Hostile{}, err
	}
	return Hostile{Name: name, Chain: [][]byte{l, inter, root.Raw}, Want: x509chain.ErrKey}, nil
}

// sha1Chain: every signature genuine, made by the root and the
// intermediate, but with SHA-1.
func sha1Chain(root *x509.Certificate, rootKey crypto.Signer, leaf crypto.PublicKey) (Hostile, error) {
	alg := x509.ECDSAWithSHA1
	if _, ok := rootKey.Public().(*rsa.PublicKey); ok {
		alg = x509.SHA1WithRSA
	}
	ik, err := throwaway()
	if err != nil {
		return Hostile{}, err
	}
	inter, err := CertSpec{Subject: "SHA-1 intermediate", Key: &ik.PublicKey, Issuer: root, Signer: rootKey, SignatureAlgorithm: alg, CA: true}.DER()
	if err != nil {
		return Hostile{}, err
	}
	interCert, err := x509.ParseCertificate(inter)
	if err != nil {
		return Hostile{}, err
	}
	l, err := CertSpec{Subject: "Android Keystore Key", Key: leaf, Issuer: interCert, Signer: ik, SignatureAlgorithm: x509.ECDSAWithSHA1}.DER()
	if err != nil {
		return Hostile{}, err
	}
	return Hostile{Name: "sha1-signatures", Chain: [][]byte{l, inter, root.Raw}, Want: x509chain.ErrKey}, nil
}

// curveChain: an intermediate with a key of a curve §7 does not allow,
// genuinely signed by the root, and a leaf it genuinely signs.
func curveChain(name string) func(*x509.Certificate, crypto.Signer, crypto.PublicKey) (Hostile, error) {
	return func(root *x509.Certificate, rootKey crypto.Signer, leaf crypto.PublicKey) (Hostile, error) {
		var ik crypto.Signer
		var err error
		if name == "ed25519-intermediate" {
			_, ik, err = ed25519.GenerateKey(rand.Reader)
		} else {
			ik, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		}
		if err != nil {
			return Hostile{}, err
		}
		inter, err := CertSpec{Subject: name, Key: ik.Public(), Issuer: root, Signer: rootKey, CA: true}.DER()
		if err != nil {
			return Hostile{}, err
		}
		interCert, err := x509.ParseCertificate(inter)
		if err != nil {
			return Hostile{}, err
		}
		l, err := CertSpec{Subject: "Android Keystore Key", Key: leaf, Issuer: interCert, Signer: ik}.DER()
		if err != nil {
			return Hostile{}, err
		}
		return Hostile{Name: name, Chain: [][]byte{l, inter, root.Raw}, Want: x509chain.ErrKey}, nil
	}
}

// eightAnchored: the most work a chain within x509chain's bounds asks:
// MaxCerts certificates (as many parses), MaxChainSize bytes in all (as
// much to decode), the last a copy of the root and the one under it forged
// and of MaxCertSize (the largest signed part to hash), so a verifier
// checks one signature with the root's key and refuses.
func eightAnchored(root *x509.Certificate, _ crypto.Signer, leaf crypto.PublicKey) (Hostile, error) {
	n := x509chain.MaxCerts
	sizes := make([]int, n-1)
	sizes[n-2] = x509chain.MaxCertSize
	for i := range n - 2 {
		sizes[i] = (x509chain.MaxChainSize - x509chain.MaxCertSize - len(root.Raw)) / (n - 2)
	}
	chain, err := paddedChain(root, leaf, sizes)
	return Hostile{Name: "eight-max-size-anchored", Chain: chain, Want: x509chain.ErrSignature, Signatures: 1}, err
}

// eightBodySize: eightAnchored as large as a request holds
// (HostileChainsBodyLimit), the certificates of one size: over
// MaxChainSize, refused before it is parsed.
func eightBodySize(root *x509.Certificate, _ crypto.Signer, leaf crypto.PublicKey) (Hostile, error) {
	n := x509chain.MaxCerts
	sizes := make([]int, n-1)
	for i := range sizes {
		sizes[i] = (HostileChainsBodyLimit - len(root.Raw)) / (n - 1)
	}
	chain, err := paddedChain(root, leaf, sizes)
	return Hostile{Name: "eight-body-size-anchored", Chain: chain, Want: x509chain.ErrMalformed}, err
}

// paddedChain is a chain of len(sizes)+1 certificates ending in root, the
// others forged (each names the one after it as its issuer but is signed
// by a throwaway key), certificate i padded to at most sizes[i] bytes, the
// leaf's key leaf.
func paddedChain(root *x509.Certificate, leaf crypto.PublicKey, sizes []int) ([][]byte, error) {
	n := len(sizes) + 1
	chain := make([][]byte, n)
	chain[n-1] = root.Raw
	issuer := root
	for i := n - 2; i >= 0; i-- {
		k, err := throwaway()
		if err != nil {
			return nil, err
		}
		forger, err := throwaway()
		if err != nil {
			return nil, err
		}
		spec := CertSpec{Subject: fmt.Sprintf("padded %d", i), Key: &k.PublicKey, Issuer: issuer, Signer: forger, CA: i > 0, PadTo: sizes[i]}
		if i == 0 {
			spec.Key = leaf
		}
		if chain[i], err = spec.DER(); err != nil {
			return nil, err
		}
		if issuer, err = x509.ParseCertificate(chain[i]); err != nil {
			return nil, err
		}
	}
	return chain, nil
}

// forgedUnderRoot: an intermediate that names the root as its issuer but
// is signed by another key; a verifier checks it once against the root.
func forgedUnderRoot(root *x509.Certificate, _ crypto.Signer, leaf crypto.PublicKey) (Hostile, error) {
	ik, err := throwaway()
	if err != nil {
		return Hostile{}, err
	}
	inter, err := CertSpec{Subject: "forged intermediate", Key: &ik.PublicKey, Issuer: root, Signer: ik, CA: true}.DER()
	if err != nil {
		return Hostile{}, err
	}
	interCert, err := x509.ParseCertificate(inter)
	if err != nil {
		return Hostile{}, err
	}
	l, err := CertSpec{Subject: "Android Keystore Key", Key: leaf, Issuer: interCert, Signer: ik}.DER()
	if err != nil {
		return Hostile{}, err
	}
	return Hostile{Name: "forged-under-root", Chain: [][]byte{l, inter}, Want: x509chain.ErrRoot, Signatures: 1}, nil
}

// outOfBounds: nine copies of the root, or one certificate a byte over
// MaxCertSize; refused before parsing.
func outOfBounds(name string) func(*x509.Certificate, crypto.Signer, crypto.PublicKey) (Hostile, error) {
	return func(root *x509.Certificate, _ crypto.Signer, _ crypto.PublicKey) (Hostile, error) {
		if name == "nine-certificates" {
			chain := make([][]byte, x509chain.MaxCerts+1)
			for i := range chain {
				chain[i] = root.Raw
			}
			return Hostile{Name: name, Chain: chain, Want: x509chain.ErrMalformed}, nil
		}
		big := append(append([]byte{}, root.Raw...), bytes.Repeat([]byte("A"), x509chain.MaxCertSize+1-len(root.Raw))...)
		return Hostile{Name: name, Chain: [][]byte{big, root.Raw}, Want: x509chain.ErrMalformed}, nil
	}
}
