package playintegrity_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/internal/jsontest"
	"github.com/attestd/attestd/verify/playintegrity"
)

// FuzzParsePayload compares the one-pass payload reader with encoding/json
// (parseStd, the reader it replaced): what it accepts, encoding/json
// accepts with the same values; what it refuses and encoding/json accepts
// is one of its documented strictnesses (strictPayload). The committed
// corpus (testdata/fuzz/FuzzParsePayload) holds a genuine verdict and
// variants.
func FuzzParsePayload(f *testing.F) {
	r := newRig(f)
	for _, s := range []string{
		string(r.pass().JSON()),
		`{"requestDetails":{"timestampMillis":1675655009345,"nonce":"n"},"appIntegrity":null}`,
		`{"requestDetails":{"timestampMillis":"1","nonce":"a\u0062\ud800"},"deviceIntegrity":{"deviceRecognitionVerdict":["MEETS_BASIC_INTEGRITY"]}}`,
		`{"requestDetails":{"timestampMillis":"1"},"requestDetails":{"timestampMillis":"2"}}`,
		`{"RequestDetails":{"timestampMillis":"1"}}`,
		`{"requestDetails":{"timestampMillis":"1"},"appIntegrity":{"certificateSha256Digest":[null]}}`,
		`{"requestDetails":{"timestampMillis":"1"},"x":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}`,
		` {"requestDetails":{"timestampMillis": 12 ,"x":-0.5e+3},"t":true,"f":false,"z":null} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := playintegrity.ParsePayload(b)
		std, stdErr := parseStd(b)
		switch {
		case err == nil && stdErr != nil:
			t.Fatalf("accepted %+v, encoding/json refuses: %v", got, stdErr)
		case err == nil && !reflect.DeepEqual(got, std) && !foldedName(b):
			t.Fatalf("read %+v, encoding/json reads %+v", got, std)
		case err != nil && stdErr == nil && !strictPayload(b) && !foldedName(b):
			t.Fatalf("refused (%v), encoding/json reads %+v", err, std)
		}
		if err != nil && playintegrity.Reason(err) != playintegrity.ReasonMalformed {
			t.Fatalf("error is not play_malformed: %v", err)
		}
	})
}

// stdPayload is Payload as encoding/json reads it.
type stdPayload struct {
	RequestDetails *struct {
		RequestPackageName string          `json:"requestPackageName"`
		Nonce              *string         `json:"nonce"`
		TimestampMillis    json.RawMessage `json:"timestampMillis"`
	} `json:"requestDetails"`
	AppIntegrity struct {
		AppRecognitionVerdict   string   `json:"appRecognitionVerdict"`
		PackageName             string   `json:"packageName"`
		CertificateSha256Digest []string `json:"certificateSha256Digest"`
	} `json:"appIntegrity"`
	DeviceIntegrity struct {
		DeviceRecognitionVerdict []string `json:"deviceRecognitionVerdict"`
	} `json:"deviceIntegrity"`
	AccountDetails struct {
		AppLicensingVerdict string `json:"appLicensingVerdict"`
	} `json:"accountDetails"`
	EnvironmentDetails struct {
		PlayProtectVerdict string `json:"playProtectVerdict"`
	} `json:"environmentDetails"`
}

// parseStd reads b with encoding/json as ParsePayload did before it read
// in one pass.
func parseStd(b []byte) (*playintegrity.Payload, error) {
	var w stdPayload
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	if w.RequestDetails == nil || len(w.RequestDetails.TimestampMillis) == 0 || string(w.RequestDetails.TimestampMillis) == "null" {
		return nil, playintegrity.ErrMalformed
	}
	ms := bytes.Trim(w.RequestDetails.TimestampMillis, `"`)
	if len(ms) == 0 || len(ms) > 18 || strings.Trim(string(ms), "0123456789") != "" ||
		(w.RequestDetails.TimestampMillis[0] == '"') != (w.RequestDetails.TimestampMillis[len(w.RequestDetails.TimestampMillis)-1] == '"') {
		return nil, playintegrity.ErrMalformed
	}
	var v int64
	for _, c := range ms {
		v = v*10 + int64(c-'0')
	}
	m := playintegrity.Millis(v)
	p := &playintegrity.Payload{
		RequestDetails: &playintegrity.RequestDetails{RequestPackageName: w.RequestDetails.RequestPackageName, Nonce: w.RequestDetails.Nonce, TimestampMillis: &m},
		AppIntegrity: playintegrity.AppIntegrity{AppRecognitionVerdict: w.AppIntegrity.AppRecognitionVerdict, PackageName: w.AppIntegrity.PackageName,
			CertificateSha256Digest: w.AppIntegrity.CertificateSha256Digest},
		DeviceIntegrity:    playintegrity.DeviceIntegrity{DeviceRecognitionVerdict: w.DeviceIntegrity.DeviceRecognitionVerdict},
		AccountDetails:     playintegrity.AccountDetails{AppLicensingVerdict: w.AccountDetails.AppLicensingVerdict},
		EnvironmentDetails: playintegrity.EnvironmentDetails{PlayProtectVerdict: w.EnvironmentDetails.PlayProtectVerdict},
	}
	if len(p.AppIntegrity.CertificateSha256Digest) == 0 {
		p.AppIntegrity.CertificateSha256Digest = nil
	}
	if len(p.DeviceIntegrity.DeviceRecognitionVerdict) == 0 {
		p.DeviceIntegrity.DeviceRecognitionVerdict = nil
	}
	return p, nil
}

var knownNames = []string{"requestDetails", "appIntegrity", "deviceIntegrity", "accountDetails", "environmentDetails",
	"requestPackageName", "nonce", "timestampMillis", "appRecognitionVerdict", "packageName", "certificateSha256Digest",
	"deviceRecognitionVerdict", "appLicensingVerdict", "playProtectVerdict"}

// foldedName reports whether b names a member that encoding/json matches
// to a known one by folding case (which ParsePayload does not).
func foldedName(b []byte) bool {
	found := false
	walkJSON(b, func(name string, _ int) {
		k := strings.NewReplacer("ſ", "s", "K", "k").Replace(name)
		for _, n := range knownNames {
			if name != n && strings.EqualFold(k, n) {
				found = true
			}
		}
	})
	return found
}

// strictPayload reports whether valid JSON b is one ParsePayload may refuse
// where encoding/json reads it: nested deeper than MaxPayloadDepth, a
// member repeated in an object (encoding/json keeps the last), a null in
// an array of strings (encoding/json reads "").
func strictPayload(b []byte) bool {
	return jsontest.Depth(b) > playintegrity.MaxPayloadDepth || repeated(b) || bytes.Contains(b, []byte("null"))
}

// repeated reports whether some object of b names a member twice.
func repeated(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	var stack []map[string]bool
	var inObj []bool
	expectKey := false
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack, inObj = append(stack, map[string]bool{}), append(inObj, true)
			expectKey = true
			continue
		case json.Delim('['):
			stack, inObj = append(stack, nil), append(inObj, false)
		case json.Delim('}'), json.Delim(']'):
			stack, inObj = stack[:len(stack)-1], inObj[:len(inObj)-1]
		default:
			if k, ok := tok.(string); ok && expectKey && len(inObj) > 0 && inObj[len(inObj)-1] {
				if stack[len(stack)-1][k] {
					return true
				}
				stack[len(stack)-1][k] = true
				expectKey = false
				continue
			}
		}
		expectKey = len(inObj) > 0 && inObj[len(inObj)-1] && d.More()
	}
}

// walkJSON calls fn with each member name of valid JSON b and its depth.
func walkJSON(b []byte, fn func(name string, depth int)) {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return
	}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				fn(k, depth)
				walk(e, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(v, 1)
}
