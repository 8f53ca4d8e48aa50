package httpsig

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// rfcKey reads the test key of RFC 9421 Appendix B.1.3.
func rfcKey(t testing.TB) (*ecdsa.PublicKey, *ecdsa.PrivateKey) {
	t.Helper()
	data, err := os.ReadFile("testdata/rfc9421-test-key-ecc-p256.pem")
	if err != nil {
		t.Fatal(err)
	}
	var pub *ecdsa.PublicKey
	var priv *ecdsa.PrivateKey
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		switch b.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			pub = k.(*ecdsa.PublicKey)
		case "EC PRIVATE KEY":
			if priv, err = x509.ParseECPrivateKey(b.Bytes); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pub == nil || priv == nil || !priv.PublicKey.Equal(pub) {
		t.Fatal("testdata: the B.1.3 key pair is not there or does not match")
	}
	return pub, priv
}

// rfcResponse reads the test response of RFC 9421 Appendix B.2 with the
// signature fields of B.2.4.
func rfcResponse(t testing.TB) (*Response, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/rfc9421-b24-response.http")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header}, body
}

// TestRFC9421B24VerifiesWithOurVerifier: the signature that RFC 9421's
// authors made for Appendix B.2.4 (ecdsa-p256-sha256, key B.1.3) verifies
// with this package, whose signature base is byte for byte the RFC's, and
// the response's Content-Digest (sha-512) matches its body.
func TestRFC9421B24VerifiesWithOurVerifier(t *testing.T) {
	pub, _ := rfcKey(t)
	msg, body := rfcResponse(t)
	var sc Scratch
	if err := sc.Verify(msg, "sig-b24", pub); err != nil {
		t.Fatalf("the RFC's own signature does not verify: %v", err)
	}
	want, err := os.ReadFile("testdata/rfc9421-b24-base.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sc.base, want) {
		t.Fatalf("signature base:\n%s\nwant the RFC's:\n%s", sc.base, want)
	}
	if kid, ok := sc.Input.KeyID(); !ok || string(kid) != "test-key-ecc-p256" || sc.Input.Created != 1618884473 {
		t.Errorf("parameters: keyid %q created %d", kid, sc.Input.Created)
	}
	cd, _ := msg.AppendComponent(nil, []byte("content-digest"))
	if err := checkSHA512Only(cd, body); err != nil {
		t.Errorf("the RFC's Content-Digest: %v", err)
	}

	t.Run("tampered-status", func(t *testing.T) {
		m := *msg
		m.Status = 201
		if err := sc.Verify(&m, "sig-b24", pub); !errors.Is(err, ErrSignature) {
			t.Fatalf("@status changed: %v, want ErrSignature", err)
		}
	})
	t.Run("other-key", func(t *testing.T) {
		other := newKey(t)
		if err := sc.Verify(msg, "sig-b24", &other.PublicKey); !errors.Is(err, ErrSignature) {
			t.Fatalf("another key: %v, want ErrSignature", err)
		}
	})
	t.Run("our-signature-with-the-rfc-key", func(t *testing.T) {
		_, priv := rfcKey(t)
		in, sig, err := Sign(msg, []string{"@status", "content-type", "content-digest", "content-length"},
			Params{Created: 1618884473, KeyID: "test-key-ecc-p256"}, priv)
		if err != nil {
			t.Fatal(err)
		}
		m := &Response{Status: msg.Status, Header: msg.Header.Clone()}
		m.Header.Set("Signature-Input", "sig-b24="+in)
		m.Header.Set("Signature", "sig-b24="+sig)
		if err := sc.Verify(m, "sig-b24", pub); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sc.base, want) {
			t.Fatalf("our signer's base differs from the RFC's:\n%s", sc.base)
		}
	})
}

// checkSHA512Only checks a Content-Digest that has only sha-512 (as the
// RFC's example): CheckContentDigest requires sha-256, so the sha-512
// member is checked alone here.
func checkSHA512Only(field, body []byte) error {
	var d dictionary
	if err := parseDictionary(field, &d); err != nil {
		return err
	}
	m, ok := d.lookup(field, "sha-512")
	if !ok {
		return errors.New("no sha-512")
	}
	sum := sha512Sum(body)
	return checkDigest(field, m, sum)
}

// TestDocumentedExampleVerifies: the example request of the documents
// (signed with the B.1.3 key, keyid its did) verifies under §12's profile
// at its created time, with the base they print, and not a minute later.
func TestDocumentedExampleVerifies(t *testing.T) {
	pub, _ := rfcKey(t)
	pt, _ := pub.Bytes()
	raw, err := os.ReadFile("testdata/att-example.http")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	msg := ServerRequest(req, "")
	var sc Scratch
	if _, err := sc.VerifyRequest(&msg, pt, body, time.Unix(1796671990, 0), 0); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/att-example-base.txt")
	if !bytes.Equal(sc.base, want) {
		t.Fatalf("base:\n%s", sc.base)
	}
	if _, err := sc.VerifyRequest(&msg, pt, body, time.Unix(1796671990+61, 0), 0); !errors.Is(err, ErrTime) {
		t.Fatalf("61 s later: %v", err)
	}
}
