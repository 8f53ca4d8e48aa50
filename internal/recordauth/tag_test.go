package recordauth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
)

func TestSplitAttachRoundTrip(t *testing.T) {
	tagStr := "a1:m1:7:" + strings.Repeat("A", 43)
	for _, rec := range []string{`{}`, `{"a":1}`, `{"a":{"b":"}"},"c":[1,2]}`} {
		v := attach([]byte(rec), tagStr)
		body, ts, ok := split(v)
		if !ok || ts != tagStr || string(closeBody(body)) != rec {
			t.Fatalf("%s: split(%s) = %q %q %v", rec, v, body, ts, ok)
		}
	}
	for _, bad := range []string{
		``, `{}`, `{"a":1}`, `{,"_auth":"a1:m1:1:AA"}`, `"_auth":"a1"}`, `{"_auth":""}`, `{"x":1 "_auth":"a1:m1:1:AA"}`,
		`{"_auth" :"a1:m1:1:AA"}`, `{"a":1,"_auth":"a1:m1:1:A"A"}`, `{"a":1,"_auth":"a1"}x`,
		`{"a":1,"_auth":"` + strings.Repeat("a", MaxTagLen+1) + `"}`,
	} {
		if _, _, ok := split([]byte(bad)); ok {
			t.Errorf("split(%q) ok", bad)
		}
	}
}

func TestParseTagBounds(t *testing.T) {
	mac := b64(make([]byte, 32))
	good := "a1:m1:12:" + mac
	if tg, err := parseTag(good); err != nil || tg.kid != "m1" || tg.gen != 12 {
		t.Fatalf("parseTag(good) = %+v, %v", tg, err)
	}
	for _, bad := range []string{
		"a2:m1:1:" + mac, "a1::1:" + mac, "a1:m1:0:" + mac, "a1:m1:01:" + mac, "a1:m1:-1:" + mac,
		"a1:m1:9223372036854775808:" + mac, "a1:m1:1:" + mac[:42], "a1:m1:1:" + mac + "A",
		"a1:" + strings.Repeat("k", 33) + ":1:" + mac, "a1:m1:1", "a1:m1:x:" + mac,
	} {
		if _, err := parseTag(bad); err == nil {
			t.Errorf("parseTag(%q) accepted", bad)
		}
	}
}

// TestTagVector computes a tag as the package doc describes it, with the
// standard library only, and compares: the format is the contract a second
// implementation would follow.
func TestTagVector(t *testing.T) {
	kr := keyring(t, "m1")
	rec := []byte(`{"id":"com.example.shop"}`)
	got, err := sign(kr, appKey, 5, rec)
	if err != nil {
		t.Fatal(err)
	}
	master := sha256.Sum256([]byte("m1"))
	rk, err := hkdf.Key(sha256.New, master[:], nil, "attestd record authentication v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, rk)
	var n [8]byte
	h.Write([]byte("attestd record v1\x00"))
	binary.BigEndian.PutUint64(n[:], uint64(len(appKey)))
	h.Write(n[:])
	h.Write([]byte(appKey))
	binary.BigEndian.PutUint64(n[:], 5)
	h.Write(n[:])
	h.Write(rec)
	if want := "a1:m1:5:" + b64(h.Sum(nil)); got != want {
		t.Fatalf("tag = %s, want %s", got, want)
	}
}
