package loadtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Kind is one sort of evidence the generator sends, and what the edge must
// answer to it.
type Kind int

// The kinds of evidence; KindPass is good evidence, the others fail in one
// way each.
const (
	KindPass         Kind = iota
	KindRooted            // integrity.rooted: verdict fails, arc "rooted"
	KindMeasurement       // wrong measurement: arc "measurement_mismatch"
	KindVersion           // unregistered version: arc "version_unknown"
	KindUnknownApp        // unregistered app: a decoy, app_unknown
	KindBadSignature      // signed over other bytes: 401 signature_invalid
	KindReplay            // a nonce already used: 401 nonce_replayed
	numKinds
)

var kindNames = [numKinds]string{"pass", "rooted", "measurement", "version", "unknown_app", "badsig", "replay"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Expected is the outcome label the edge must answer for k (see Outcome).
func (k Kind) Expected() string {
	return [numKinds]string{"verdict:pass", "verdict:rooted", "verdict:measurement_mismatch", "verdict:version_unknown",
		"verdict:app_unknown", "error:signature_invalid", "error:nonce_replayed"}[k]
}

// Mix is how often each kind is sent, as weights.
type Mix [numKinds]int

// DefaultMix is mostly passing evidence with every failure present.
const DefaultMix = "pass=90,rooted=2,measurement=2,version=2,unknown_app=1,badsig=2,replay=1"

// ParseMix reads "kind=weight,…" (kinds: pass, rooted, measurement,
// version, unknown_app, badsig, replay).
func ParseMix(s string) (Mix, error) {
	var m Mix
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("mix %q: want kind=weight", part)
		}
		k := -1
		for i, kn := range kindNames {
			if kn == name {
				k = i
			}
		}
		if k < 0 {
			return m, fmt.Errorf("mix: unknown kind %q (want one of %s)", name, strings.Join(kindNames[:], ", "))
		}
		m[k] += n
		total += n
	}
	if total == 0 {
		return m, fmt.Errorf("mix %q: all weights are 0", s)
	}
	return m, nil
}

func (m Mix) String() string {
	var parts []string
	for k, w := range m {
		if w > 0 {
			parts = append(parts, kindNames[k]+"="+strconv.Itoa(w))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// pick returns the kind for a uniform draw r in [0, total).
func (m Mix) pick(r int) Kind {
	for k, w := range m {
		if r < w {
			return Kind(k)
		}
		r -= w
	}
	return KindPass
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// Device is one pre-generated device: its key and the parts of its attest
// bodies that do not change.
type Device struct {
	key    *ecdsa.PrivateKey
	keyB64 string // device.key: b64u SPKI DER
}

// NewDevices generates n P-256 device keys.
func NewDevices(n int, rnd io.Reader) ([]*Device, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	ds := make([]*Device, n)
	for i := range ds {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		ds[i] = &Device{key: k, keyB64: b64u(der)}
	}
	return ds, nil
}

// AppendBody appends the attest body of kind k for nonce (PROTOCOL.md §2).
func (d *Device) AppendBody(dst []byte, nonce string, k Kind) []byte {
	app, ver, digest, rooted := App, Version, codeDigest, false
	switch k {
	case KindRooted:
		rooted = true
	case KindMeasurement:
		digest = wrongDigest
	case KindVersion:
		ver = UnknownVersion
	case KindUnknownApp:
		app = UnknownApp
	}
	dst = append(dst, `{"nonce":"`...)
	dst = append(dst, nonce...) // printable ASCII without quotes (PROTOCOL §1)
	dst = append(dst, `","app":{"id":"`...)
	dst = append(dst, app...)
	dst = append(dst, `","version":"`...)
	dst = append(dst, ver...)
	dst = append(dst, `","platform":"`+Platform+`","signer":"`...)
	dst = base64.RawURLEncoding.AppendEncode(dst, signerDigest[:])
	dst = append(dst, `","measurement":"`...)
	m := hmac.New(sha256.New, digest[:])
	m.Write([]byte(nonce))
	var mac [32]byte
	dst = base64.RawURLEncoding.AppendEncode(dst, m.Sum(mac[:0]))
	dst = append(dst, `"},"device":{"key":"`...)
	dst = append(dst, d.keyB64...)
	dst = append(dst, `","integrity":{"rooted":`...)
	dst = strconv.AppendBool(dst, rooted)
	dst = append(dst, `}}}`...)
	return dst
}

// Sign returns the Attest-Signature of body (b64u DER ECDSA over SHA-256);
// for KindBadSignature, a valid signature of other bytes.
func (d *Device) Sign(dst, body []byte, k Kind, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	sum := sha256.Sum256(body)
	if k == KindBadSignature {
		sum[0] ^= 1
	}
	sig, err := ecdsa.SignASN1(rnd, d.key, sum[:])
	if err != nil {
		return dst, err
	}
	return base64.RawURLEncoding.AppendEncode(dst, sig), nil
}
