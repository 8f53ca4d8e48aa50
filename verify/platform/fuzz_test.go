package platform_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/internal/jsontest"
	"github.com/attestd/attestd/verify/platform"
	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/x509chain"
)

// FuzzParseEvidence feeds the platform_attestation decoder arbitrary bytes
// and compares it with encoding/json (parseStd, the decoder it replaced):
// what it accepts, encoding/json accepts with the same values; what it
// refuses and encoding/json accepts is one of its documented strictnesses
// (a known member repeated or named in another case, nesting deeper than
// 32). The committed corpus (testdata/fuzz/FuzzParseEvidence) holds one
// object of each format, escapes, and broken variants.
func FuzzParseEvidence(f *testing.F) {
	for _, s := range []string{
		`{"format":"receipt","receipt":"r1.k.b.m"}`,
		`{"format":"android-key","chain":["MAMCAQE","MAA"]}`,
		`{"format":"apple-appattest","key_id":"AAEC","attestation":"o2NmbXQ"}`,
		`{"form\u0061t":"receipt","receipt":"\u0072\ud83d\ude00\ud800x"}`,
		`{"Format":"receipt","receipt":"r"}`,
		`{"format":"receipt","receipt":"r","format":"receipt"}`,
		`{"format":"receipt","receipt":"r","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		` {"format":"receipt","receipt":"r","n":-0.5e+3,"t":true,"f":false,"z":null,"o":{"a":[]}} `,
		`{"format":"receipt","receipt":"r","chain":[null]}`,
		`{"format":"play-integrity","token":"eyJhbGciOiJBMjU2S1cifQ.a.b.c.d"}`,
		`{"format":"play-integrity","token":"x","token":"y"}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := platform.ParseEvidence(b)
		if err != nil && !errors.Is(err, platform.ErrMalformed) && !errors.Is(err, platform.ErrFormat) {
			t.Fatalf("error without a sentinel: %v", err)
		}
		std, stdErr := parseStd(b)
		switch {
		case err == nil && stdErr != nil:
			t.Fatalf("accepted %+v, encoding/json refuses: %v", ev, stdErr)
		case err == nil && !reflect.DeepEqual(ev, std):
			t.Fatalf("read %+v, encoding/json reads %+v", ev, std)
		case err != nil && stdErr == nil && !strict(b):
			t.Fatalf("refused (%v), encoding/json reads %+v", err, std)
		}
		if err != nil {
			return
		}
		switch ev.Format {
		case platform.FormatAndroidKey:
			if len(ev.Chain) == 0 || len(ev.Chain) > x509chain.MaxCerts {
				t.Fatalf("chain of %d", len(ev.Chain))
			}
		case platform.FormatAppleAppAttest:
			if len(ev.KeyID) == 0 || len(ev.Attestation) == 0 {
				t.Fatal("empty apple field")
			}
		case platform.FormatReceipt:
			if ev.Receipt == "" {
				t.Fatal("empty receipt")
			}
		case platform.FormatPlayIntegrity:
			if ev.Token == "" || len(ev.Token) > playintegrity.MaxToken {
				t.Fatalf("token of %d characters", len(ev.Token))
			}
		default:
			t.Fatalf("format %q accepted", ev.Format)
		}
	})
}

// parseStd is ParseEvidence as it was, with encoding/json.
func parseStd(raw []byte) (platform.Evidence, error) {
	if len(raw) > platform.MaxEvidenceSize {
		return platform.Evidence{}, platform.ErrMalformed
	}
	var w struct {
		Format      string   `json:"format"`
		Chain       []string `json:"chain"`
		KeyID       string   `json:"key_id"`
		Attestation string   `json:"attestation"`
		Receipt     string   `json:"receipt"`
		Token       string   `json:"token"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return platform.Evidence{}, fmt.Errorf("%w: %w", platform.ErrMalformed, err)
	}
	ev := platform.Evidence{Format: w.Format}
	var err error
	switch w.Format {
	case platform.FormatAndroidKey:
		if len(w.Chain) == 0 || len(w.Chain) > x509chain.MaxCerts {
			return platform.Evidence{}, platform.ErrMalformed
		}
		total := 0
		for _, c := range w.Chain {
			total += base64.RawURLEncoding.DecodedLen(len(c))
		}
		if total > x509chain.MaxChainSize {
			return platform.Evidence{}, platform.ErrMalformed
		}
		ev.Chain = make([][]byte, len(w.Chain))
		for i, c := range w.Chain {
			if ev.Chain[i], err = stdB64u(c, x509chain.MaxCertSize); err != nil {
				return platform.Evidence{}, err
			}
		}
	case platform.FormatAppleAppAttest:
		if ev.KeyID, err = stdB64u(w.KeyID, 64); err != nil {
			return platform.Evidence{}, err
		}
		if ev.Attestation, err = stdB64u(w.Attestation, appleattest.MaxAttestationSize); err != nil {
			return platform.Evidence{}, err
		}
	case platform.FormatReceipt:
		if w.Receipt == "" || len(w.Receipt) > 4096 {
			return platform.Evidence{}, platform.ErrMalformed
		}
		ev.Receipt = w.Receipt
	case platform.FormatPlayIntegrity:
		if w.Token == "" || len(w.Token) > playintegrity.MaxToken {
			return platform.Evidence{}, platform.ErrMalformed
		}
		ev.Token = w.Token
	default:
		return platform.Evidence{}, platform.ErrFormat
	}
	return ev, nil
}

func stdB64u(s string, max int) ([]byte, error) {
	if s == "" || base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, platform.ErrMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, platform.ErrMalformed
	}
	return b, nil
}

// strict reports whether b is valid JSON that ParseEvidence may refuse
// where encoding/json accepts: a top-level member repeated or named like a
// known one in another case (encoding/json matches case-insensitively,
// with Unicode folding), or nesting deeper than 32.
func strict(b []byte) bool {
	if jsontest.Depth(b) > 32 {
		return true
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		k := tok.(string)
		for _, name := range []string{"format", "chain", "key_id", "attestation", "receipt", "token"} {
			if k != name && (strings.EqualFold(k, name) || foldsTo(k, name)) || k == name && seen[k] {
				return true
			}
		}
		seen[k] = true
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// foldsTo reports whether k matches name under encoding/json's folding,
// which also maps U+017F (ſ) to s and U+212A (Kelvin) to k.
func foldsTo(k, name string) bool {
	k = strings.NewReplacer("ſ", "s", "K", "k").Replace(k)
	return strings.EqualFold(k, name)
}
