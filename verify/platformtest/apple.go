package platformtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// App Attest aaguids.
const (
	AAGUIDProduction  = "appattest\x00\x00\x00\x00\x00\x00\x00"
	AAGUIDDevelopment = "appattestdevelop"
)

// AppleCA is a test App Attest CA: a root and an intermediate that issues
// credential certificates. Its fields are exported for tests that build
// unusual objects; do not modify them.
type AppleCA struct{ ca }

// NewAppleCA makes a fresh test root and intermediate (P-256).
func NewAppleCA() (*AppleCA, error) {
	c, err := newCA("attestd test App Attestation")
	if err != nil {
		return nil, err
	}
	return &AppleCA{c}, nil
}

// Roots returns the root, as appleattest.Verify takes it.
func (a *AppleCA) Roots() []*x509.Certificate { return []*x509.Certificate{a.Root} }

// RootPEM returns the root as PEM, as --apple-roots reads it.
func (a *AppleCA) RootPEM() []byte { return rootPEM(a.Root) }

// AppleAttestation describes an attestation object. The zero value (plus a
// team and app id) is a production attestation of a fresh key, counter 0.
type AppleAttestation struct {
	// CredentialKey is the App Attest key; nil means a fresh P-256 key.
	CredentialKey  *ecdsa.PublicKey
	ClientDataHash [32]byte
	TeamID, AppID  string
	// AAGUID is one of the AAGUID constants; "" means production.
	AAGUID  string
	Counter uint32
	// CredentialID overrides the credential id in authData; nil means the
	// key id, SHA-256 of the credential key's point.
	CredentialID []byte
	// Nonce overrides the nonce extension; nil means
	// SHA-256(authData || ClientDataHash). NoNonce leaves it out.
	Nonce   []byte
	NoNonce bool
	// Format overrides fmt; "" means "apple-appattest".
	Format string
	// Validity of the credential certificate; zero means 2000-2100.
	NotBefore, NotAfter time.Time
	// ExtraCerts are appended to x5c after the intermediate.
	ExtraCerts [][]byte
}

// KeyID is the App Attest key id of pub: SHA-256 of its uncompressed point.
func KeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("platformtest: key id: %w", err)
	}
	s := sha256.Sum256(ek.Bytes())
	return s[:], nil
}

// Attest builds the CBOR attestation object for a and returns the key id of
// its credential key with it.
func (a *AppleCA) Attest(att AppleAttestation) (keyID, object []byte, err error) {
	pub := att.CredentialKey
	if pub == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		pub = &k.PublicKey
	}
	if keyID, err = KeyID(pub); err != nil {
		return nil, nil, err
	}
	authData, err := appleAuthData(att, pub, keyID)
	if err != nil {
		return nil, nil, err
	}
	nonce := att.Nonce
	if nonce == nil {
		h := sha256.New()
		h.Write(authData)
		h.Write(att.ClientDataHash[:])
		nonce = h.Sum(nil)
	}
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: fmt.Sprintf("%x", keyID)},
		NotBefore: att.NotBefore,
		NotAfter:  att.NotAfter,
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	if !att.NoNonce {
		ext, err := asn1.Marshal(struct {
			Nonce []byte `asn1:"tag:1,explicit"`
		}{nonce})
		if err != nil {
			return nil, nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 8, 2}, Value: ext}}
	}
	cred, err := leafCert(tmpl, pub, a.Intermediate, a.IntermediateKey)
	if err != nil {
		return nil, nil, err
	}
	format := att.Format
	if format == "" {
		format = "apple-appattest"
	}
	x5c := append([][]byte{cred, a.Intermediate.Raw}, att.ExtraCerts...)
	type stmt struct {
		X5C     [][]byte `cbor:"x5c"`
		Receipt []byte   `cbor:"receipt"`
	}
	object, err = cbor.Marshal(struct {
		Fmt      string `cbor:"fmt"`
		AttStmt  stmt   `cbor:"attStmt"`
		AuthData []byte `cbor:"authData"`
	}{format, stmt{x5c, []byte("test receipt, not verified")}, authData})
	if err != nil {
		return nil, nil, fmt.Errorf("platformtest: attestation object: %w", err)
	}
	return keyID, object, nil
}

// appleAuthData lays out authData: rpIdHash, flags (AT), counter, aaguid,
// credential id and the COSE credential key.
func appleAuthData(att AppleAttestation, pub *ecdsa.PublicKey, keyID []byte) ([]byte, error) {
	rpID := sha256.Sum256([]byte(att.TeamID + "." + att.AppID))
	aaguid := att.AAGUID
	if aaguid == "" {
		aaguid = AAGUIDProduction
	}
	if len(aaguid) != 16 {
		return nil, fmt.Errorf("platformtest: aaguid of %d bytes", len(aaguid))
	}
	credID := att.CredentialID
	if credID == nil {
		credID = keyID
	}
	ek, err := pub.ECDH()
	if err != nil {
		return nil, err
	}
	point := ek.Bytes()
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:]})
	if err != nil {
		return nil, err
	}
	b := append([]byte{}, rpID[:]...)
	b = append(b, 0x40)
	b = binary.BigEndian.AppendUint32(b, att.Counter)
	b = append(b, aaguid...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(credID)))
	b = append(b, credID...)
	return append(b, cose...), nil
}
