package devicekey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"math/big"
	"testing"
)

// point65 encodes (x, y) as an uncompressed point, without checking it.
func point65(x, y *big.Int) []byte {
	p := make([]byte, PointSize)
	p[0] = 4
	x.FillBytes(p[1:33])
	y.FillBytes(p[33:])
	return p
}

// smallPoint is an on-curve point with a small x (so that x+p still fits
// in 32 bytes): the first x whose x³ - 3x + b is a square mod p.
func smallPoint(t *testing.T) (x, y *big.Int) {
	params := elliptic.P256().Params()
	for i := int64(0); i < 1000; i++ {
		x = big.NewInt(i)
		rhs := new(big.Int).Mul(x, x)
		rhs.Mul(rhs, x)
		rhs.Sub(rhs, new(big.Int).Mul(x, big.NewInt(3)))
		rhs.Add(rhs, params.B)
		rhs.Mod(rhs, params.P)
		if y = new(big.Int).ModSqrt(rhs, params.P); y != nil {
			return x, y
		}
	}
	t.Fatal("no point with a small x")
	return nil, nil
}

// TestCurveCheckAgreesWithStdlib: ParseBuf accepts a point exactly when
// ecdsa.ParseUncompressedPublicKey does, on the edges of the check:
// coordinates that are congruent to a point's but not below p, the point
// at infinity, points just off the curve.
func TestCurveCheckAgreesWithStdlib(t *testing.T) {
	priv := genKey(t)
	params := elliptic.P256().Params()
	x, y := priv.X, priv.Y
	sx, sy := smallPoint(t)
	one := big.NewInt(1)
	for _, tc := range []struct {
		name string
		p    []byte
		ok   bool
	}{
		{"ok/key", pointOf(t, priv), true},
		{"ok/negated-y", point65(x, new(big.Int).Sub(params.P, y)), true},
		{"ok/generator", point65(params.Gx, params.Gy), true},
		{"ok/small-x", point65(sx, sy), true},
		{"fail/small-x-plus-p", point65(new(big.Int).Add(sx, params.P), sy), false},
		{"fail/y-plus-one", point65(x, new(big.Int).Add(y, one)), false},
		{"fail/x-equals-p", point65(params.P, y), false},
		{"fail/y-equals-p", point65(x, params.P), false},
		{"fail/all-ones", append([]byte{4}, bytes.Repeat([]byte{0xff}, 64)...), false},
		{"fail/infinity", append([]byte{4}, make([]byte, 64)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf KeyBuf
			want, stdErr := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), tc.p)
			if (stdErr == nil) != tc.ok {
				t.Fatalf("crypto/ecdsa err = %v; the case expects ok = %v", stdErr, tc.ok)
			}
			k, err := ParseBuf(tc.p, &buf)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseBuf err = %v, want ok = %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrNotP256) || !k.IsZero() {
					t.Fatalf("ParseBuf = %v; want ErrNotP256 and the zero Key", err)
				}
				return
			}
			if !k.ECDSA().Equal(want) {
				t.Fatal("ParseBuf's key differs from crypto/ecdsa's")
			}
		})
	}
}

// TestParseBufReuse: one KeyBuf parses key after key, each right, and the
// verification works with each.
func TestParseBufReuse(t *testing.T) {
	var buf KeyBuf
	for i := 0; i < 20; i++ {
		priv := genKey(t)
		k, err := ParseBuf(pointOf(t, priv), &buf)
		if err != nil {
			t.Fatal(err)
		}
		if !k.ECDSA().Equal(&priv.PublicKey) {
			t.Fatalf("key %d differs", i)
		}
		body := []byte(`{"n":1}`)
		if err := VerifySignature(k, body, sign(t, priv, body)); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if k.DID() != string(k.AppendDID(nil)) || len(k.DID()) != DIDSize {
			t.Fatalf("DID %q, AppendDID %q", k.DID(), k.AppendDID(nil))
		}
	}
}

// TestParseBufAllocs: parsing into a used KeyBuf allocates nothing.
func TestParseBufAllocs(t *testing.T) {
	skipIfRace(t)
	point, der := pointOf(t, genKey(t)), spkiOf(t, &genKey(t).PublicKey)
	var buf KeyBuf
	for _, in := range [][]byte{point, der} {
		if _, err := ParseBuf(in, &buf); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseBuf(in, &buf) }); n != 0 {
			t.Errorf("ParseBuf: %v allocations, want 0", n)
		}
	}
}
