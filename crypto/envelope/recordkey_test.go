package envelope

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
)

// hkdfByHand is RFC 5869 HKDF-SHA256 written out (extract with a zero
// salt, one expand block): an independent check of the derivation.
func hkdfByHand(ikm []byte, info string) []byte {
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(ikm)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write([]byte(info))
	exp.Write([]byte{1})
	return exp.Sum(nil)
}

// TestRecordMACIsDerivedNotMaster: the record MAC is keyed with
// HKDF-SHA256(master key, info "attestd record authentication v1"), never
// with the master key itself, per key id; an unknown id is ErrUnknownKey.
func TestRecordMACIsDerivedNotMaster(t *testing.T) {
	kr, err := ParseKeyFile([]byte(keyLine("m1", 1) + "\n" + keyLine("m2", 2) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("record bytes")
	sum := func(kid string) []byte {
		h, err := kr.RecordMAC(kid)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(msg)
		return h.Sum(nil)
	}
	for _, c := range []struct {
		kid  string
		seed byte
	}{{"m1", 1}, {"m2", 2}} {
		master := testKey(c.seed).Reveal()
		want := hmac.New(sha256.New, hkdfByHand(master, RecordKeyInfo))
		want.Write(msg)
		if got := sum(c.kid); !hmac.Equal(got, want.Sum(nil)) {
			t.Fatalf("%s: record MAC is not HMAC-SHA256 under HKDF(master, %q)", c.kid, RecordKeyInfo)
		}
		direct := hmac.New(sha256.New, master)
		direct.Write(msg)
		if bytes.Equal(sum(c.kid), direct.Sum(nil)) {
			t.Fatalf("%s: record MAC keyed with the master key itself", c.kid)
		}
	}
	if bytes.Equal(sum("m1"), sum("m2")) {
		t.Fatal("two master keys give the same record MAC")
	}
	if _, err := kr.RecordMAC("m9"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
}
