package playintegrity

import (
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Bounds of a token, checked before anything is decoded.
const (
	// MaxToken is the longest token read, in characters. Play's tokens
	// carry payloads of 1-2 KB and are about 4 KB long.
	MaxToken = 16 << 10
	// Exact lengths of the fixed parts, in b64u characters: the A256KW
	// wrapped content key (40 bytes), the A256GCM IV (12 bytes) and tag
	// (16 bytes), and the ES256 signature (64 bytes, r‖s).
	wrappedKeyChars = 54
	ivChars         = 16
	tagChars        = 22
	signatureChars  = 86
)

// The algorithms of §10, and nothing else, for go-jose's allow-lists.
var (
	keyAlgs  = []jose.KeyAlgorithm{jose.A256KW}
	encAlgs  = []jose.ContentEncryption{jose.A256GCM}
	signAlgs = []jose.SignatureAlgorithm{jose.ES256}
)

// Open decrypts the compact JWE token with the set's decryption keys (the
// current pair first), verifies the compact JWS inside it with the
// verification key of the pair that decrypted it, and returns the JWS
// payload. Errors wrap ErrUnconfigured (no keys), ErrMalformed (a shape,
// size, header or algorithm other than §10's, checked before any key is
// used) or ErrKeys (no pair decrypts it, or the signature does not
// verify).
func (s *KeySet) Open(token string) ([]byte, error) {
	if s.Len() == 0 {
		return nil, ErrUnconfigured
	}
	if err := checkJWE(token); err != nil {
		return nil, err
	}
	jwe, err := jose.ParseEncryptedCompact(token, keyAlgs, encAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: JWE: %v", ErrMalformed, err)
	}
	for _, p := range s.pairs {
		plain, err := jwe.Decrypt(p.decryption.Reveal())
		if err != nil {
			continue
		}
		return verifyJWS(plain, p)
	}
	return nil, fmt.Errorf("%w: no key pair decrypts the token", ErrKeys)
}

// verifyJWS checks the shape of the plaintext and its signature with p.
func verifyJWS(plain []byte, p KeyPair) ([]byte, error) {
	jws := string(plain)
	if err := checkJWS(jws); err != nil {
		return nil, err
	}
	sig, err := jose.ParseSignedCompact(jws, signAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: JWS: %v", ErrMalformed, err)
	}
	payload, err := sig.Verify(p.verification)
	if err != nil {
		return nil, fmt.Errorf("%w: signature does not verify", ErrKeys)
	}
	return payload, nil
}

// checkJWE bounds a compact JWE before go-jose reads it: at most MaxToken
// characters of the b64u alphabet and dots, five parts, the fixed ones of
// their exact lengths, a ciphertext, and a protected header of alg A256KW,
// enc A256GCM and nothing but kid, typ and cty beside them.
func checkJWE(token string) error {
	if len(token) > MaxToken {
		return fmt.Errorf("%w: token of %d characters, at most %d", ErrMalformed, len(token), MaxToken)
	}
	if !b64uDots(token) {
		return fmt.Errorf("%w: token holds a character outside b64u and '.'", ErrMalformed)
	}
	var parts [5]string
	if strings.Count(token, ".") != len(parts)-1 {
		return fmt.Errorf("%w: not a compact JWE of five parts", ErrMalformed)
	}
	rest := token
	for i := range parts[:4] {
		parts[i], rest, _ = strings.Cut(rest, ".")
	}
	parts[4] = rest
	if len(parts[1]) != wrappedKeyChars || len(parts[2]) != ivChars || len(parts[3]) == 0 || len(parts[4]) != tagChars {
		return fmt.Errorf("%w: JWE parts of %d, %d, %d and %d characters, want %d, %d, >0 and %d (A256KW, A256GCM)",
			ErrMalformed, len(parts[1]), len(parts[2]), len(parts[3]), len(parts[4]), wrappedKeyChars, ivChars, tagChars)
	}
	h, err := readHeader(parts[0], memberAlg|memberEnc|memberKid|memberTyp|memberCty)
	if err != nil {
		return fmt.Errorf("JWE: %w", err)
	}
	if h.alg != string(jose.A256KW) || h.enc != string(jose.A256GCM) {
		return fmt.Errorf("%w: JWE alg %.16q enc %.16q, want A256KW and A256GCM", ErrMalformed, h.alg, h.enc)
	}
	return nil
}

// checkJWS bounds the plaintext as a compact JWS: b64u and dots, three
// parts, a non-empty payload, a 64-byte signature, and a protected header
// of alg ES256 and nothing but kid, typ and cty beside it (no b64: the
// payload is always encoded; no crit).
func checkJWS(jws string) error {
	if !b64uDots(jws) || strings.Count(jws, ".") != 2 {
		return fmt.Errorf("%w: plaintext is not a compact JWS", ErrMalformed)
	}
	hdr, rest, _ := strings.Cut(jws, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	if payload == "" || len(sig) != signatureChars {
		return fmt.Errorf("%w: JWS payload of %d and signature of %d characters, want >0 and %d (ES256)",
			ErrMalformed, len(payload), len(sig), signatureChars)
	}
	h, err := readHeader(hdr, memberAlg|memberKid|memberTyp|memberCty)
	if err != nil {
		return fmt.Errorf("JWS: %w", err)
	}
	if h.alg != string(jose.ES256) {
		return fmt.Errorf("%w: JWS alg %.16q, want ES256", ErrMalformed, h.alg)
	}
	return nil
}

// b64uDots reports whether s holds only the b64u alphabet and dots.
// It ORs a table's entries without a branch per byte: a token is read
// whole, about 4 KB, on every enrolment.
func b64uDots(s string) bool {
	var bad byte
	for i := 0; i < len(s); i++ {
		bad |= notB64uDot[s[i]]
	}
	return bad == 0
}

// notB64uDot is 1 for every byte outside the b64u alphabet and the dot.
var notB64uDot = func() (t [256]byte) {
	for c := range t {
		t[c] = 1
	}
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") {
		t[c] = 0
	}
	return t
}()
