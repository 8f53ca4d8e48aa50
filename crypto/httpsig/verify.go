package httpsig

import (
	"crypto/ecdsa"
	"fmt"
)

// Field names of RFC 9421 §4, lower case.
const (
	SignatureInputField = "signature-input"
	SignatureField      = "signature"
)

// Component identifiers passed to Message.AppendComponent, made once: a
// []byte(constant) given to an interface method would be allocated at
// each call. They are never modified.
var (
	idSignatureInput = []byte(SignatureInputField)
	idSignature      = []byte(SignatureField)
	idContentDigest  = []byte(ContentDigestField)
)

// Scratch holds the buffers of one verification, reused from one to the
// next: after a first verification of a given size, verifying does not
// allocate here. The zero value is ready to use. A Scratch is not safe
// for concurrent use.
type Scratch struct {
	// Input is the metadata of the signature last parsed; it points into
	// the Scratch's buffers, valid until the next use of the Scratch.
	Input Input

	inputField []byte
	sigField   []byte
	base       []byte
	digest     []byte
	dict       dictionary
	sig        [SigSize]byte
}

// Verify checks the signature labelled label of msg with key
// (ecdsa-p256-sha256): it parses the label's members of Signature-Input
// and Signature, builds the signature base over the covered components,
// and verifies the signature. It applies no policy of its own beyond the
// algorithm (an alg parameter other than ecdsa-p256-sha256 is
// ErrAlgorithm): which components, created, keyid and the rest are the
// caller's to check in sc.Input (VerifyRequest checks docs/protocol.md §10's).
func (sc *Scratch) Verify(msg Message, label string, key *ecdsa.PublicKey) error {
	if err := sc.parse(msg, label); err != nil {
		return err
	}
	if err := sc.checkAlg(); err != nil {
		return err
	}
	return sc.verify(msg, key)
}

// parse reads the label's Signature-Input member into sc.Input and its
// Signature member into sc.sig.
func (sc *Scratch) parse(msg Message, label string) error {
	var ok bool
	sc.inputField, ok = msg.AppendComponent(sc.inputField[:0], idSignatureInput)
	if !ok {
		return fmt.Errorf("%w: no Signature-Input field", ErrMissing)
	}
	if err := parseDictionary(sc.inputField, &sc.dict); err != nil {
		return fmt.Errorf("Signature-Input: %w", err)
	}
	m, ok := sc.dict.lookup(sc.inputField, label)
	switch {
	case !ok:
		return fmt.Errorf("%w: no Signature-Input member %q", ErrMissing, label)
	case !m.list:
		return malformed("the Signature-Input member is not an inner list")
	}
	if err := parseInput(m.val.of(sc.inputField), &sc.Input); err != nil {
		return fmt.Errorf("Signature-Input: %w", err)
	}
	sc.sigField, ok = msg.AppendComponent(sc.sigField[:0], idSignature)
	if !ok {
		return fmt.Errorf("%w: no Signature field", ErrMissing)
	}
	if err := parseDictionary(sc.sigField, &sc.dict); err != nil {
		return fmt.Errorf("Signature: %w", err)
	}
	if m, ok = sc.dict.lookup(sc.sigField, label); !ok {
		return fmt.Errorf("%w: no Signature member %q", ErrMissing, label)
	}
	var it item
	var ps params
	if m.list || parseItemValue(m.val.of(sc.sigField), &it, &ps) != nil || it.kind != kBinary || ps.n != 0 {
		return malformed("the Signature member is not a byte sequence")
	}
	if !decodeBinary(sc.sig[:], it.raw.of(m.val.of(sc.sigField))) {
		return malformed("the signature is not %d bytes of base64", SigSize)
	}
	return nil
}

// checkAlg refuses an alg parameter other than Alg.
func (sc *Scratch) checkAlg() error {
	if alg, ok := sc.Input.AlgParam(); ok && string(alg) != Alg {
		return fmt.Errorf("%w: only %s is verified", ErrAlgorithm, Alg)
	}
	return nil
}

// verify builds the signature base of sc.Input over msg and verifies
// sc.sig with key.
func (sc *Scratch) verify(msg Message, key *ecdsa.PublicKey) error {
	var err error
	if sc.base, err = appendBase(sc.base[:0], msg, &sc.Input); err != nil {
		return err
	}
	if key == nil || !verifyRaw(key, sc.base, &sc.sig) {
		return fmt.Errorf("%w: the signature does not verify with the key", ErrSignature)
	}
	return nil
}
