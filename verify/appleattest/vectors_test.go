package appleattest_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/platformtest"
)

type appleVector struct {
	Source           string `json:"source"`
	Attestation      string `json:"attestationBase64"`
	KeyID            string `json:"keyIdBase64"`
	TeamID           string `json:"teamIdentifier"`
	BundleID         string `json:"bundleIdentifier"`
	Environment      string `json:"environment"`
	ClientData       string `json:"clientDataBase64"`
	ClientDataSHA256 string `json:"clientDataHashSha256Base64"`
	PublicKey        string `json:"publicKey"`
	Timestamp        string `json:"timestamp"`
}

func loadAppleVectors(t *testing.T) []appleVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(platformtest.Vectors(t), "apple", "devicecheck-appattest-attestations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []appleVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("%d vectors", len(vs))
	}
	return vs
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppleVectors: iOS 14 App Attest objects (development environment)
// verify against Apple's built-in root at their timestamp with their own
// client data hash, SHA-256("wurzelpfropf").
func TestAppleVectors(t *testing.T) {
	roots, err := appleattest.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range loadAppleVectors(t) {
		t.Run(v.Source[len("src/test/resources/"):len("src/test/resources/ios-14.x")], func(t *testing.T) {
			cdh := sha256.Sum256([]byte("wurzelpfropf"))
			if string(b64(t, v.ClientData)) != "wurzelpfropf" || base64.StdEncoding.EncodeToString(cdh[:]) != v.ClientDataSHA256 {
				t.Fatalf("client data %q / %s", b64(t, v.ClientData), v.ClientDataSHA256)
			}
			at, err := time.Parse(time.RFC3339, v.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			in := appleattest.Input{
				KeyID:          b64(t, v.KeyID),
				Attestation:    b64(t, v.Attestation),
				ClientDataHash: cdh,
				TeamID:         v.TeamID,
				AppID:          v.BundleID,
			}
			res, err := appleattest.Verify(in, appleattest.Policy{AllowDevelopment: true}, roots, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.Environment != v.Environment || res.Format != "apple-appattest" {
				t.Errorf("result %+v, want environment %s", res, v.Environment)
			}
			// The credential key is the published public key of the vector.
			obj, err := appleattest.ParseAttestationObject(in.Attestation)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := x509.ParseCertificate(obj.X5C[0])
			if err != nil {
				t.Fatal(err)
			}
			blk, _ := pem.Decode([]byte(v.PublicKey))
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !cred.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
				t.Error("credential key differs from the vector's publicKey")
			}
			if len(obj.Receipt) == 0 || len(obj.X5C) != 2 {
				t.Errorf("receipt %d bytes, %d certificates", len(obj.Receipt), len(obj.X5C))
			}

			intermediate, err := x509.ParseCertificate(obj.X5C[1])
			if err != nil {
				t.Fatal(err)
			}
			// At the present clock the vector verifies while Apple's
			// intermediate is valid (to 2030), and is refused after.
			present, presentWant := time.Now(), error(nil)
			if present.Before(intermediate.NotBefore) || present.After(intermediate.NotAfter) {
				presentWant = appleattest.ErrExpiredCert
			}
			for _, neg := range []struct {
				name string
				mod  func(*appleattest.Input, *appleattest.Policy, *time.Time)
				want error
			}{
				{"production-only-policy", func(*appleattest.Input, *appleattest.Policy, *time.Time) {}, appleattest.ErrAAGUID},
				{"other-client-data", func(in *appleattest.Input, p *appleattest.Policy, _ *time.Time) {
					p.AllowDevelopment = true
					in.ClientDataHash = sha256.Sum256([]byte("other"))
				}, appleattest.ErrNonce},
				{"other-team", func(in *appleattest.Input, p *appleattest.Policy, _ *time.Time) {
					p.AllowDevelopment = true
					in.TeamID = "AAAAAAAAAA"
				}, appleattest.ErrRPID},
				// §7 1.1: the credential certificate is the leaf, whose dates
				// are not checked; the intermediate's are.
				{"after-credential-validity", func(in *appleattest.Input, p *appleattest.Policy, at *time.Time) {
					p.AllowDevelopment = true
					*at = at.AddDate(0, 0, 4)
				}, nil},
				{"after-intermediate-validity", func(in *appleattest.Input, p *appleattest.Policy, at *time.Time) {
					p.AllowDevelopment = true
					*at = intermediate.NotAfter.Add(time.Second)
				}, appleattest.ErrExpiredCert},
				{"present-clock", func(in *appleattest.Input, p *appleattest.Policy, at *time.Time) {
					p.AllowDevelopment = true
					*at = present
				}, presentWant},
			} {
				t.Run(neg.name, func(t *testing.T) {
					in2, p, at2 := in, appleattest.Policy{}, at
					neg.mod(&in2, &p, &at2)
					_, err := appleattest.Verify(in2, p, roots, at2)
					checkErr(t, err, neg.want)
				})
			}
		})
	}
}
