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
