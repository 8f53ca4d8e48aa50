package androidkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// FuzzKeyDescription feeds the key description parser arbitrary bytes; the
// committed corpus (testdata/fuzz/FuzzKeyDescription) holds generated
// descriptions of each schema version and the edge cases of the parser.
func FuzzKeyDescription(f *testing.F) {
	f.Add(goodDescription())
	f.Add(description(nil, rot(0x01)))
	f.Fuzz(func(t *testing.T, b []byte) {
		kd, err := androidkey.ParseKeyDescription(b)
		if err != nil {
			if !errors.Is(err, androidkey.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, l := range []androidkey.SecurityLevel{kd.AttestationSecurityLevel, kd.KeyMintSecurityLevel} {
			if l < androidkey.LevelSoftware || l > androidkey.LevelStrongBox {
				t.Fatalf("level %d out of range", l)
			}
		}
		if kd.AttestationVersion < 1 {
			t.Fatalf("version %d", kd.AttestationVersion)
		}
		for _, al := range []androidkey.AuthorizationList{kd.SoftwareEnforced, kd.HardwareEnforced} {
			if r := al.RootOfTrust; r != nil && r.VerifiedBootState > androidkey.BootFailed {
				t.Fatalf("boot state %d", r.VerifiedBootState)
			}
			if id := al.AttestationApplicationID; id != nil && (len(id.Packages) > 128 || len(id.SignatureDigests) > 32) {
				t.Fatalf("application id out of bounds: %d packages, %d digests", len(id.Packages), len(id.SignatureDigests))
			}
		}
		if !within(kd.AttestationChallenge, b) || !within(kd.UniqueID, b) {
			t.Fatal("challenge or unique id outside the input")
		}
	})
}

// within reports whether s is empty or a sub-slice of b's bytes.
func within(s, b []byte) bool {
	return len(s) == 0 || bytes.Contains(b, s)
}

// FuzzStatusList feeds the status list parser arbitrary bytes; the committed
// corpus (testdata/fuzz/FuzzStatusList) holds lists in Google's format and
// the attacker's inputs (too many entries for a small bound, data after
// the list, "entries" twice or null). What it accepts, encoding/json
// accepts into {"entries": map} with as many certificates, and what that
// accepts within the bound, it accepts.
func FuzzStatusList(f *testing.F) {
	f.Add([]byte(`{"entries":{"2c8cdddfd5e03bfc":{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := androidkey.ParseStatusList(b)
		want, refErr := referenceStatusCount(b)
		if err != nil {
			if !errors.Is(err, androidkey.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if refErr == nil && len(b) <= androidkey.MaxStatusListSize && want <= androidkey.MaxStatusListEntries {
				t.Fatalf("refused (%v) a list encoding/json reads", err)
			}
			return
		}
		if l.Len() > androidkey.MaxStatusListEntries {
			t.Fatalf("%d entries", l.Len())
		}
		if refErr != nil || want != l.Len() {
			t.Fatalf("accepted %d certificates; encoding/json reads %d, %v", l.Len(), want, refErr)
		}
		// A small bound is kept as well.
		if _, err := androidkey.ParseStatusListMax(b, 1); l.Len() > 1 && err == nil {
			t.Fatal("a bound of 1 accepted more")
		}
	})
}

// referenceStatusCount reads b as the parser once did (encoding/json into
// a map, then serials normalised) and counts the certificates named.
func referenceStatusCount(b []byte) (int, error) {
	var doc struct {
		Entries map[string]androidkey.StatusEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return 0, err
	}
	if doc.Entries == nil {
		return 0, errors.New("no entries")
	}
	serials := map[string]bool{}
	for k := range doc.Entries {
		if k == "" || len(k) > 128 {
			return 0, errors.New("bad serial")
		}
		v, ok := new(big.Int).SetString(k, 16)
		if !ok || v.Sign() < 0 || strings.ContainsAny(k, "+-_xX") {
			return 0, errors.New("bad serial")
		}
		serials[string(v.Bytes())] = true
	}
	return len(serials), nil
}

// FuzzPatchDate: a patch level PatchDate reads is a real day of 2000-9999.
func FuzzPatchDate(f *testing.F) {
	for _, v := range []int64{202511, 20251105, 20190700, 201907, 20230229, 0, -1, 1 << 62, 99991231} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		d, ok := androidkey.PatchDate(v)
		if !ok {
			return
		}
		if d.Year() < 2000 || d.Year() > 9999 || d.Hour() != 0 || d.Location() != time.UTC {
			t.Fatalf("PatchDate(%d) = %s", v, d)
		}
	})
}
