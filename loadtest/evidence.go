package loadtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/attestd/attestd/client"
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

// Device is one pre-generated device: its key, as the client.Attester of
// each app that some kind of evidence claims to be.
type Device struct {
	attesters [numKinds]*client.Attester
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
		if ds[i], err = newDevice(k); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

func newDevice(key *ecdsa.PrivateKey) (*Device, error) {
	d := &Device{}
	for k := range numKinds {
		a, err := client.NewAttester(client.AttesterConfig{App: k.claims(), Key: key})
		if err != nil {
			return nil, err
		}
		d.attesters[k] = a
	}
	return d, nil
}

// claims is the app that evidence of kind k claims to be.
func (k Kind) claims() client.App {
	app := client.App{ID: App, Version: Version, Platform: Platform, Signer: signerDigest[:], CodeDigest: codeDigest[:]}
	switch k {
	case KindMeasurement:
		app.CodeDigest = wrongDigest[:]
	case KindVersion:
		app.Version = UnknownVersion
	case KindUnknownApp:
		app.ID = UnknownApp
	}
	return app
}

// evidence is what evidence of kind k sends beyond its app.
func (k Kind) evidence() client.Evidence {
	return client.Evidence{Integrity: client.Integrity{Rooted: k == KindRooted}}
}

// AppendBody appends the attest body of kind k for nonce (PROTOCOL.md §2),
// as client.Attester builds it.
func (d *Device) AppendBody(dst []byte, nonce string, k Kind) []byte {
	ev := k.evidence()
	return d.attesters[k].AppendBody(dst, nonce, &ev)
}

// Sign appends the Attest-Signature of body to dst; for KindBadSignature, a
// valid signature of other bytes (body without its last byte).
func (d *Device) Sign(dst, body []byte, k Kind, rnd io.Reader) ([]byte, error) {
	if k == KindBadSignature {
		body = body[:len(body)-1]
	}
	return d.attesters[k].AppendSignature(dst, body, rnd)
}
