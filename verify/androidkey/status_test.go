package androidkey_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
)

func TestParseStatusList(t *testing.T) {
	l, err := androidkey.ParseStatusList([]byte(`{
		"entries": {
			"2c8cdddfd5e03bfc": {"status": "REVOKED", "reason": "KEY_COMPROMISE"},
			"00C8966FCB2FBE32": {"status": "SUSPENDED", "reason": "SOFTWARE_FLAW", "comment": "x"},
			"0": {"status": "REVOKED"}
		},
		"unknown": true
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Errorf("Len = %d", l.Len())
	}
	for _, tc := range []struct {
		serial string
		status string
		ok     bool
	}{
		{"2c8cdddfd5e03bfc", "REVOKED", true},
		{"c8966fcb2fbe32", "SUSPENDED", true},
		{"0", "REVOKED", true},
		{"1", "", false},
	} {
		n, _ := new(big.Int).SetString(tc.serial, 16)
		e, ok := l.Lookup(n)
		if ok != tc.ok || e.Status != tc.status {
			t.Errorf("Lookup(%s) = %+v, %v", tc.serial, e, ok)
		}
	}
	var nilList *androidkey.StatusList
	if _, ok := nilList.Lookup(big.NewInt(1)); ok || nilList.Len() != 0 {
		t.Error("nil list is not empty")
	}
	for name, in := range map[string]string{
		"not-json":      `{`,
		"no-entries":    `{}`,
		"entries-array": `{"entries": []}`,
		"bad-serial":    `{"entries": {"xyz": {"status": "REVOKED"}}}`,
		"empty-serial":  `{"entries": {"": {"status": "REVOKED"}}}`,
		"too-large":     `{"entries": {}}` + strings.Repeat(" ", androidkey.MaxStatusListSize),
	} {
		if _, err := androidkey.ParseStatusList([]byte(in)); !errors.Is(err, androidkey.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestStatusLookupBytes: a serial as the bytes a receipt records, with or
// without leading zero bytes, finds the entry its hexadecimal names.
func TestStatusLookupBytes(t *testing.T) {
	l, err := androidkey.ParseStatusList([]byte(`{"entries":{"00C8966FCB2FBE32":{"status":"SUSPENDED"},"a":{"status":"REVOKED"},"0":{"status":"REVOKED"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		serial []byte
		ok     bool
	}{
		{[]byte{0xc8, 0x96, 0x6f, 0xcb, 0x2f, 0xbe, 0x32}, true},
		{[]byte{0, 0, 0xc8, 0x96, 0x6f, 0xcb, 0x2f, 0xbe, 0x32}, true},
		{[]byte{0x0a}, true},
		{[]byte{0x00, 0x0a}, true},
		{[]byte{0xa0}, false},
		{nil, true}, // serial 0
		{[]byte{0}, true},
		{[]byte{1}, false},
	} {
		if _, ok := l.LookupBytes(tc.serial); ok != tc.ok {
			t.Errorf("LookupBytes(%x) = %v, want %v", tc.serial, ok, tc.ok)
		}
	}
	var nilList *androidkey.StatusList
	if _, ok := nilList.LookupBytes([]byte{0x0a}); ok {
		t.Error("nil list names a serial")
	}
	if n := testing.AllocsPerRun(100, func() { l.LookupBytes([]byte{0x0a}) }); n != 0 {
		t.Errorf("LookupBytes allocates %.0f times", n)
	}
}

// TestStatusListSameSerialTwiceRevokedWins: a list that names one
// certificate twice ("0a" SUSPENDED, "A" REVOKED) keeps REVOKED, whatever
// the order its JSON object is read in.
func TestStatusListSameSerialTwiceRevokedWins(t *testing.T) {
	for _, doc := range []string{
		`{"entries":{"0a":{"status":"SUSPENDED"},"A":{"status":"REVOKED"}}}`,
		`{"entries":{"A":{"status":"REVOKED"},"0a":{"status":"SUSPENDED"}}}`,
	} {
		l, err := androidkey.ParseStatusList([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := l.LookupBytes([]byte{0x0a}); e.Status != androidkey.StatusRevoked {
			t.Errorf("%s: entry %+v", doc, e)
		}
	}
}

// TestStatusListUnrevoked: a new list that drops a REVOKED entry, or turns
// it into another status, un-revokes it; dropping a SUSPENDED one does not.
func TestStatusListUnrevoked(t *testing.T) {
	parse := func(s string) *androidkey.StatusList {
		t.Helper()
		l, err := androidkey.ParseStatusList([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	prev := parse(`{"entries":{"01":{"status":"REVOKED"},"2":{"status":"REVOKED"},"3":{"status":"REVOKED"},"4":{"status":"SUSPENDED"}}}`)
	next := parse(`{"entries":{"1":{"status":"REVOKED"},"2":{"status":"SUSPENDED"},"5":{"status":"REVOKED"}}}`)
	got, n := next.Unrevoked(prev)
	if n != 3 || strings.Join(got, ",") != "2,3" {
		t.Errorf("Unrevoked = %v, %d; want [2 3], 3", got, n)
	}
	if got, n := next.Unrevoked(nil); got != nil || n != 0 {
		t.Errorf("Unrevoked(nil) = %v, %d", got, n)
	}
	if got, _ := prev.Unrevoked(prev); len(got) != 0 {
		t.Errorf("a list un-revokes %v of itself", got)
	}
}
