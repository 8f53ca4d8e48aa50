package e2e

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
)

const (
	secondName  = "second_key"
	secondValue = "sk_second_9a71"
	lenientName = "lenient_only"
	lenientVal  = "sk_lenient_2be4"
)

// secretsFixture adds to the test registry a second secret of App, one for
// AppLenient only and one released to nobody.
func secretsFixture(t *testing.T) *testenv.Fixture {
	f := testenv.NewFixture(t)
	a := &f.Bundle.Accounts[0]
	a.Secrets = append(a.Secrets,
		model.Secret{Name: secondName, Value: secret.FromString(secondValue), Apps: []string{testenv.App}},
		model.Secret{Name: lenientName, Value: secret.FromString(lenientVal), Apps: []string{testenv.AppLenient}},
		model.Secret{Name: "unassigned", Value: secret.FromString("sk_nobody_0000")})
	return f
}

// jweHeader decodes the protected header of a compact JWE.
func jweHeader(t *testing.T, jwe string) map[string]any {
	t.Helper()
	parts := strings.Split(jwe, ".")
	if len(parts) != 5 {
		t.Fatalf("JWE has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// openJWE decrypts with go-jose directly (not through the client), with
// the algorithms pinned, and checks the header of PROTOCOL.md §4.
func openJWE(t *testing.T, c *client.Client, jwe string) map[string]string {
	t.Helper()
	h := jweHeader(t, jwe)
	epk, _ := h["epk"].(map[string]any)
	if h["alg"] != "ECDH-ES" || h["enc"] != "A256GCM" || h["kid"] != c.DID() || epk["kty"] != "EC" || epk["crv"] != "P-256" {
		t.Fatalf("JWE header %v", h)
	}
	for _, k := range []string{"apu", "apv", "zip"} {
		if v, ok := h[k]; ok && v != "" {
			t.Errorf("JWE header has %s", k)
		}
	}
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := obj.Decrypt(c.DeviceKey())
	if err != nil {
		t.Fatalf("go-jose cannot decrypt with the device key: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal(plain, &m); err != nil {
		t.Fatalf("plaintext is not a JSON object of strings: %v", err)
	}
	return m
}

// TestSecretsReleasedExactly: a passing verdict that asks gets exactly the
// app's secrets (go-jose decrypts them with the device key); a failed
// verdict, or one that does not ask, gets no `secrets` member; an app with
// no secret gets an empty object; the token never holds a secret.
func TestSecretsReleasedExactly(t *testing.T) {
	f := secretsFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	for _, tc := range []struct {
		name string
		app  string
		ev   client.Evidence
		want map[string]string // nil: no secrets member
	}{
		{"pass/app", testenv.App, client.Evidence{WantSecrets: true},
			map[string]string{testenv.SecretName: testenv.SecretValue, secondName: secondValue}},
		{"pass/lenient-app", testenv.AppLenient, client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: true}},
			map[string]string{testenv.SecretName: testenv.SecretValue, lenientName: lenientVal}},
		{"pass/app-without-secrets", testenv.AppIOS, client.Evidence{WantSecrets: true}, map[string]string{}},
		{"pass/not-asked", testenv.App, client.Evidence{}, nil},
		{"fail/rooted", testenv.App, client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: true}}, nil},
		{"pass/account-without-secrets", testenv.AppES, client.Evidence{WantSecrets: true}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			c := e.client(tc.app)
			a := e.attest(c, e.body(c, e.nonce(c), tc.ev))
			v := decodeVerdict(t, a)
			if strings.Contains(v.Token, base64.RawURLEncoding.EncodeToString([]byte(testenv.SecretValue))[:12]) ||
				strings.Contains(string(a.body), testenv.SecretValue) {
				t.Fatal("secret material in the answer outside the JWE")
			}
			_, has := v.raw["secrets"]
			if tc.want == nil {
				if has {
					t.Fatalf("secrets member present: %s", v.raw["secrets"])
				}
				return
			}
			if !has {
				t.Fatal("no secrets member")
			}
			if got := openJWE(t, c, v.Secrets); !maps.Equal(got, tc.want) {
				t.Fatalf("released %v, want %v", secretNames(got), secretNames(tc.want))
			}
		})
	}
}

func secretNames(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestSecretRotationUnderLoad: clients attest in a loop while attestctl
// rotates a secret, reassigns it and deletes another. No attestation fails;
// each client sees the old value, then the new one, never back; and every
// attestation begun 2 s after a change reflects it.
func TestSecretRotationUnderLoad(t *testing.T) {
	f := secretsFixture(t)
	s := testenv.NewStore(t, f)
	node := testenv.StartNode(t, s, testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}

	type sample struct {
		start time.Time
		got   map[string]string
	}
	const workers = 4
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	samples := make([][]sample, workers)
	errs := make(chan error, workers)
	// lateFrom, once set, is 2 s after the last change; late counts the
	// attestations begun after it that have completed, done all of them.
	var lateFrom atomic.Pointer[time.Time]
	var late, done atomic.Int64
	for w := range workers {
		c := e.client(testenv.App)
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				r, err := c.Attest(rctx, client.Evidence{WantSecrets: true})
				cancel()
				if err == nil {
					var m map[string]string
					if m, err = c.OpenSecrets(r); err == nil {
						samples[w] = append(samples[w], sample{start, m})
						done.Add(1)
						if lf := lateFrom.Load(); lf != nil && start.After(*lf) {
							late.Add(1)
						}
						continue
					}
				}
				errs <- err
				return
			}
		})
	}
	// Each change is made while the loop runs, once every worker's worth of
	// attestations completed under the state before it; its time is when
	// attestctl returned.
	var changes []time.Time
	change := func(stdin string, args ...string) {
		n := done.Load() + workers
		poll.Until(t, 30*time.Second, "attestations before a change", func() bool { return done.Load() >= n })
		runCtl(t, s, stdin, args...)
		changes = append(changes, time.Now())
	}
	change("sk_rotated_v2", "secret", "put", testenv.Account, testenv.SecretName)
	change("", "secret", "assign", testenv.Account, secondName, "--apps", testenv.AppLenient)
	// Run until a few attestations begun after the last 2 s window have
	// completed (one attestation may take long on a loaded machine).
	lf := changes[len(changes)-1].Add(2 * time.Second)
	lateFrom.Store(&lf)
	poll.For(32500*time.Millisecond, func() bool { return late.Load() >= workers }) // judged below
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("an attestation failed during the changes: %v", err)
	}

	// state returns which changes a sample reflects (0, 1 or 2), or -1.
	state := func(m map[string]string) int {
		switch {
		case m[testenv.SecretName] == testenv.SecretValue && m[secondName] == secondValue && len(m) == 2:
			return 0
		case m[testenv.SecretName] == "sk_rotated_v2" && m[secondName] == secondValue && len(m) == 2:
			return 1
		case m[testenv.SecretName] == "sk_rotated_v2" && len(m) == 1:
			return 2
		}
		return -1
	}
	nLate := 0
	for w, ss := range samples {
		last := 0
		for _, smp := range ss {
			st := state(smp.got)
			if st < 0 {
				t.Fatalf("worker %d: released %v, neither before nor after a change", w, secretNames(smp.got))
			}
			if st < last {
				t.Fatalf("worker %d: went back from state %d to %d", w, last, st)
			}
			last = st
			for i, at := range changes {
				if smp.start.After(at.Add(2*time.Second)) && st < i+1 {
					t.Fatalf("worker %d: attestation begun %v after change %d still reflects state %d", w, smp.start.Sub(at), i+1, st)
				}
			}
			if smp.start.After(lf) {
				nLate++
			}
		}
		if len(ss) == 0 {
			t.Fatalf("worker %d attested nothing", w)
		}
	}
	t.Logf("%d attestations per worker, %d begun after the last 2 s window", len(samples[0]), nLate)
	if nLate == 0 {
		t.Fatal("no attestation ran after the 2 s window; the test proves nothing")
	}

	// Deleting a secret: gone from every new JWE within 2 s.
	runCtl(t, s, "", "secret", "delete", testenv.Account, lenientName)
	c := e.client(testenv.AppLenient)
	if !poll.For(2*time.Second, func() bool {
		r, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		_, released := openJWE(t, c, r.Secrets)[lenientName]
		return !released
	}) {
		t.Fatal("deleted secret still released after 2 s")
	}
}

// TestSecretsJWEByHand opens a real daemon's JWE with the standard library alone,
// following the steps of docs/app-developer.md for SDKs without a JOSE
// library: ECDH with epk, one round of the Concat KDF, AES-256-GCM with the
// header as additional data.
func TestSecretsJWEByHand(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	c := node.Client(t, f, testenv.App, nil)
	r, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(r.Secrets, ".")
	if len(parts) != 5 || parts[1] != "" {
		t.Fatalf("not a direct-agreement compact JWE: %d parts", len(parts))
	}
	var hdr struct {
		Alg, Enc, Kid string
		Epk           struct{ Kty, Crv, X, Y string }
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr.Alg != "ECDH-ES" || hdr.Enc != "A256GCM" || hdr.Kid != c.DID() {
		t.Fatalf("header %s: %v", raw, err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(hdr.Epk.X)
	y, _ := base64.RawURLEncoding.DecodeString(hdr.Epk.Y)
	epk, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := c.DeviceKey().ECDH()
	if err != nil {
		t.Fatal(err)
	}
	z, err := priv.ECDH(epk)
	if err != nil {
		t.Fatal(err)
	}
	// SHA-256(00000001 ‖ Z ‖ 00000007 ‖ "A256GCM" ‖ 00000000 ‖ 00000000 ‖ 00000100)
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	h.Write([]byte{0, 0, 0, 7})
	h.Write([]byte("A256GCM"))
	h.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	block, _ := aes.NewCipher(h.Sum(nil))
	gcm, _ := cipher.NewGCM(block)
	iv, _ := base64.RawURLEncoding.DecodeString(parts[2])
	ct, _ := base64.RawURLEncoding.DecodeString(parts[3])
	tag, _ := base64.RawURLEncoding.DecodeString(parts[4])
	plain, err := gcm.Open(nil, iv, append(ct, tag...), []byte(parts[0]))
	if err != nil {
		t.Fatalf("the documented steps do not open the JWE: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal(plain, &m); err != nil || len(m) != 1 || m[testenv.SecretName] != testenv.SecretValue {
		t.Fatalf("plaintext holds %d secrets (%v)", len(m), err)
	}
}
