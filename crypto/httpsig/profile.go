package httpsig

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"
)

// DefaultWindow is how far created may be from now, either way (docs/protocol.md
// §10).
const DefaultWindow = 60 * time.Second

// TokenField is the field that carries the attestation token.
const TokenField = "attest-token"

// RequestMessage is a Message over a request that knows whether it has a
// query. Request implements it.
type RequestMessage interface {
	Message
	HasQuery() bool
}

// Checked is what VerifyRequest found in a signature that passed: its
// replay ID, its created time, and Until, when the signature stops passing
// the created check (created plus the window, rounded up to a second): a
// replay cache must remember the ID until then.
type Checked struct {
	ID      ID
	Created int64
	Until   time.Time
}

// RequiredComponents returns the components docs/protocol.md §10 requires a
// request signature to cover, in the order the client signs them.
func RequiredComponents(hasQuery, hasBody bool) []string {
	c := make([]string, 0, 6)
	c = append(c, "@method", "@authority", "@path")
	if hasQuery {
		c = append(c, "@query")
	}
	c = append(c, TokenField)
	if hasBody {
		c = append(c, ContentDigestField)
	}
	return c
}

// VerifyRequest checks the request signature of docs/protocol.md §10 on req,
// whose whole body is body (empty when it has none), with the device key
// whose uncompressed point is point (the token's cnf.jwk), at now, with
// created allowed within window of now either way (0: DefaultWindow).
// Cheap checks come first, then the signature, then the body's digest:
//
//   - label att in Signature-Input and Signature, well formed (ErrMissing,
//     ErrMalformed); a 64-byte signature (ErrMalformed);
//   - @method, @authority, @path, attest-token covered, @query when req
//     has a query, content-digest when the body is not empty
//     (ErrComponents);
//   - alg absent or ecdsa-p256-sha256 (ErrAlgorithm);
//   - keyid equal to the did of point (ErrKeyID);
//   - created present and within the window, and expires, when present,
//     not before created and not passed (ErrTime);
//   - the signature over the base (ErrComponents, ErrSignature; ErrKey
//     when point is not a P-256 point);
//   - when content-digest is covered or the body is not empty, a
//     Content-Digest that matches body (ErrDigest).
//
// It records nothing: the replay check is the caller's, with the returned
// ID. It is VerifyRequestHeaders then CheckBody.
func (sc *Scratch) VerifyRequest(req RequestMessage, point, body []byte, now time.Time, window time.Duration) (Checked, error) {
	c, err := sc.VerifyRequestHeaders(req, point, len(body) > 0, now, window)
	if err != nil {
		return Checked{}, err
	}
	if err := sc.CheckBody(req, body); err != nil {
		return Checked{}, err
	}
	return c, nil
}

// VerifyRequestHeaders is VerifyRequest's checks but the body's: all of
// them up to the signature, which covers the Content-Digest field, not
// the body. hasBody says the request is known to have a body (a
// Content-Length over 0): content-digest must then be covered. A verifier
// that must not read a body for a request that is not signed (a proxy
// holding places while it reads) calls it first, then reads the body and
// calls CheckBody with the same sc and req.
func (sc *Scratch) VerifyRequestHeaders(req RequestMessage, point []byte, hasBody bool, now time.Time, window time.Duration) (Checked, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	if err := sc.parse(req, Label); err != nil {
		return Checked{}, err
	}
	in := &sc.Input
	if err := checkCovered(in, req.HasQuery(), hasBody); err != nil {
		return Checked{}, err
	}
	if err := sc.checkAlg(); err != nil {
		return Checked{}, err
	}
	if err := checkKeyID(in, point); err != nil {
		return Checked{}, err
	}
	w := int64(window / time.Second)
	if err := checkTimes(in, now.Unix(), w); err != nil {
		return Checked{}, err
	}
	key, err := PublicKey(point)
	if err != nil {
		return Checked{}, err
	}
	if err := sc.verify(req, key); err != nil {
		return Checked{}, err
	}
	return Checked{ID: SignatureID(&sc.sig), Created: in.Created, Until: time.Unix(in.Created+w+1, 0)}, nil
}

// CheckBody is VerifyRequest's last check, on the signature
// VerifyRequestHeaders passed with sc on req: a body that is not empty
// needs content-digest covered (ErrComponents), and when content-digest is
// covered or the body is not empty, the Content-Digest field must match
// body, the whole body (ErrDigest).
func (sc *Scratch) CheckBody(req RequestMessage, body []byte) error {
	in := &sc.Input
	if len(body) > 0 && !in.Covers(ContentDigestField) {
		return fmt.Errorf("%w: the request has a body and content-digest is not covered", ErrComponents)
	}
	if len(body) == 0 && !in.Covers(ContentDigestField) {
		return nil
	}
	var ok bool
	if sc.digest, ok = req.AppendComponent(sc.digest[:0], idContentDigest); !ok {
		return fmt.Errorf("%w: no Content-Digest field", ErrDigest)
	}
	return CheckContentDigest(sc.digest, body)
}

// checkCovered checks the components §10 requires.
func checkCovered(in *Input, hasQuery, hasBody bool) error {
	for _, c := range [...]string{"@method", "@authority", "@path", TokenField} {
		if !in.Covers(c) {
			return fmt.Errorf("%w: %s is not covered", ErrComponents, c)
		}
	}
	if hasQuery && !in.Covers("@query") {
		return fmt.Errorf("%w: the request has a query and @query is not covered", ErrComponents)
	}
	if hasBody && !in.Covers(ContentDigestField) {
		return fmt.Errorf("%w: the request has a body and content-digest is not covered", ErrComponents)
	}
	return nil
}

// checkKeyID checks keyid = b64u(SHA-256(point)).
func checkKeyID(in *Input, point []byte) error {
	kid, ok := in.KeyID()
	if !ok {
		return fmt.Errorf("%w: no keyid", ErrKeyID)
	}
	var buf [64]byte
	did := DID(buf[:0], point)
	if subtle.ConstantTimeCompare(kid, did) != 1 {
		return fmt.Errorf("%w: keyid is not the did of the token's key", ErrKeyID)
	}
	return nil
}

// checkTimes checks created (required; within w seconds of now either way)
// and expires (optional; the signer's own limit, checked as it is: a
// leeway of w would make it vacuous, since created is at most w old).
func checkTimes(in *Input, now, w int64) error {
	if !in.HasCreated {
		return fmt.Errorf("%w: no created", ErrTime)
	}
	if d := now - in.Created; d > w || d < -w {
		return fmt.Errorf("%w: created %d is more than %ds from now %d", ErrTime, in.Created, w, now)
	}
	if in.HasExpires && (in.Expires < in.Created || now > in.Expires) {
		return fmt.Errorf("%w: expired at %d, now %d", ErrTime, in.Expires, now)
	}
	return nil
}

// Sign signs msg with key (ecdsa-p256-sha256) over components, with
// params p, and returns the values of its members of Signature-Input
// (`(components);created=…[;keyid=…][;alg=…]`) and Signature
// (`:b64(r‖s):`), without the label: put them in the fields as
// `label=VALUE`. Components and string parameters must be printable ASCII
// without '"' or '\'. The base signed is the one a verifier builds from
// the returned Signature-Input.
func Sign(msg Message, components []string, p Params, key *ecdsa.PrivateKey) (input, signature string, err error) {
	for _, c := range append(components[:len(components):len(components)], p.KeyID, p.Alg) {
		for i := 0; i < len(c); i++ {
			if ch := c[i]; ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' {
				return "", "", fmt.Errorf("%w: a component or parameter is not printable ASCII without quotes", ErrMalformed)
			}
		}
	}
	if key == nil || key.Curve == nil || key.Curve.Params().Name != "P-256" {
		return "", "", fmt.Errorf("%w: not a P-256 private key", ErrKey)
	}
	params := appendSigParams(nil, components, p)
	var in Input
	if err := parseInput(params, &in); err != nil {
		return "", "", err
	}
	base, err := appendBase(nil, msg, &in)
	if err != nil {
		return "", "", err
	}
	var sig [SigSize]byte
	if err := signRaw(&sig, key, base); err != nil {
		return "", "", err
	}
	enc := make([]byte, 0, 2+base64.StdEncoding.EncodedLen(SigSize))
	enc = append(enc, ':')
	enc = base64.StdEncoding.AppendEncode(enc, sig[:])
	return string(params), string(append(enc, ':')), nil
}

// SignRequest signs req as docs/protocol.md §10 asks, at created, with the
// device key key: RequiredComponents(req.HasQuery(), hasBody), created,
// keyid = the did of key, alg ecdsa-p256-sha256. A request with a body
// must carry its Content-Digest (AppendContentDigest) before it is signed.
// It returns the values of the att members (see Sign).
func SignRequest(req RequestMessage, hasBody bool, key *ecdsa.PrivateKey, created int64) (input, signature string, err error) {
	if key == nil {
		return "", "", fmt.Errorf("%w: no key", ErrKey)
	}
	point, err := key.PublicKey.Bytes()
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	p := Params{Created: created, KeyID: string(DID(nil, point)), Alg: Alg}
	return Sign(req, RequiredComponents(req.HasQuery(), hasBody), p, key)
}
