package httpsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"math/big"
	"net/http"
	"testing"
	"time"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func point(k *ecdsa.PrivateKey) []byte {
	p, err := k.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	return p
}

func elliptic256N() *big.Int { return elliptic.P256().Params().N }

func sha512Sum(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

// testNow is the verifier's clock in these tests.
var testNow = time.Unix(1_760_000_000, 0)

const testToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

// signed is a request as the client sends it, signed at created with key:
// POST https://edge.example/v1/proxy/api/items?x=1 with a JSON body.
type signed struct {
	req  Request
	body []byte
}

func newSigned(t testing.TB, key *ecdsa.PrivateKey, created int64, query string, body []byte) *signed {
	t.Helper()
	s := &signed{req: Request{Method: "POST", Authority: "edge.example", Path: "/v1/proxy/api/items", Query: query,
		Header: http.Header{"Attest-Token": {testToken}, "Content-Type": {"application/json"}}}, body: body}
	if len(body) > 0 {
		s.req.Header.Set("Content-Digest", string(AppendContentDigest(nil, body)))
	}
	in, sig, err := SignRequest(&s.req, len(body) > 0, key, created)
	if err != nil {
		t.Fatal(err)
	}
	s.req.Header.Set("Signature-Input", Label+"="+in)
	s.req.Header.Set("Signature", Label+"="+sig)
	return s
}

// clone returns a copy whose header can be changed.
func (s *signed) clone() *signed {
	c := *s
	c.req.Header = s.req.Header.Clone()
	c.body = append([]byte(nil), s.body...)
	return &c
}

func (s *signed) verify(sc *Scratch, key *ecdsa.PrivateKey, now time.Time) (Checked, error) {
	return sc.VerifyRequest(&s.req, point(key), s.body, now, 0)
}
