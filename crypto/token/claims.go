package token

// ConfirmationSize is the size of a cnf key: an uncompressed P-256 point.
const ConfirmationSize = 65

// Claims are the claims of an attestation token (docs/protocol.md §3), as minted.
// The zero value is not mintable: ExpiresAt is required.
type Claims struct {
	Issuer    string // iss: the deployment's issuer name
	Subject   string // sub: the app id
	Audience  string // aud: the account id (always a single string)
	IssuedAt  int64  // iat, Unix seconds
	ExpiresAt int64  // exp, Unix seconds; required
	ID        string // jti: b64u of 16 random bytes
	Device    string // did: b64u SHA-256 of the device key's uncompressed point
	Payload   string // pay: the binding hash; omitted from the token when empty
	// Annotation is arc: comma-separated failure reasons. Omitted when nil;
	// present as "" when it points at "" (a pass, where annotation is on).
	Annotation *string
	// Monitor is mon (docs/protocol.md §9): the app is in monitor mode, so a
	// token signed with the account's key may stand for a failed verdict
	// (arc then names its reasons). Present as true only; omitted when
	// false.
	Monitor bool
	// Debug is dbg (§9): the name of the debug token the verdict was made
	// with; omitted when empty.
	Debug string
	// Confirmation is the device key the token is bound to (cnf.jwk, RFC
	// 7800; docs/protocol.md §10): the uncompressed point 0x04‖x‖y of a P-256
	// key. The zero value: no cnf.
	Confirmation [ConfirmationSize]byte
}

// HasConfirmation reports whether c carries cnf.
func (c *Claims) HasConfirmation() bool { return c.Confirmation != [ConfirmationSize]byte{} }

// Verified is what Verify found in a token that passed every check.
//
// Its byte-slice fields point into a buffer the Verified owns and reuses, so
// that verifying does not allocate: they stay valid until the next Verify
// into the same Verified, or Reset. Copy what you keep (Claims does). The
// slices must not be modified.
//
// The zero value is ready to use. A Verified is not safe for concurrent use;
// give each goroutine its own (a sync.Pool of *Verified works well).
//
// (Why not fill a Claims: strings that alias a reused buffer would change
// under the caller, which Go's strings promise never to do; and allocating
// fresh strings would cost five allocations per token.)
type Verified struct {
	KID string // the kid of the key that verified the token
	Alg Alg    // that key's algorithm

	Issuer, Subject, Audience []byte // iss, sub, aud
	IssuedAt, ExpiresAt       int64  // iat (0 when absent), exp
	ID, Device, Payload       []byte // jti, did, pay (empty when absent)
	Annotation                []byte // arc, when HasAnnotation
	HasAnnotation             bool   // arc was present (possibly "")
	Monitor                   bool   // mon was present and true
	Debug                     []byte // dbg (empty when absent)
	// Confirmation is the uncompressed point 0x04‖x‖y of the P-256 key of
	// cnf.jwk, when HasConfirmation. It is not checked to be on the curve
	// (the token's issuer vouches for it; its user parses it as a key).
	Confirmation    [ConfirmationSize]byte
	HasConfirmation bool

	buf []byte // decoded claims JSON, strings unescaped in place
}

// Reset clears v, keeping its buffer for reuse.
func (v *Verified) Reset() {
	buf := v.buf[:0]
	*v = Verified{buf: buf}
}

// Claims returns a copy of the verified claims that does not depend on v.
// It allocates.
func (v *Verified) Claims() Claims {
	c := Claims{
		Issuer:    string(v.Issuer),
		Subject:   string(v.Subject),
		Audience:  string(v.Audience),
		IssuedAt:  v.IssuedAt,
		ExpiresAt: v.ExpiresAt,
		ID:        string(v.ID),
		Device:    string(v.Device),
		Payload:   string(v.Payload),
		Monitor:   v.Monitor,
		Debug:     string(v.Debug),
	}
	if v.HasAnnotation {
		a := string(v.Annotation)
		c.Annotation = &a
	}
	if v.HasConfirmation {
		c.Confirmation = v.Confirmation
	}
	return c
}
