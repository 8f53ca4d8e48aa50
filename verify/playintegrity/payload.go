package playintegrity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// MaxPayloadDepth bounds the nesting of the payload's objects and arrays
// (Play's is 4 deep: environmentDetails.appAccessRiskVerdict.appsDetected).
const MaxPayloadDepth = 16

// Payload is the part of a verdict (Google's "integrity verdict" JSON)
// that §10 reads. Other members are ignored.
type Payload struct {
	RequestDetails *struct {
		RequestPackageName string  `json:"requestPackageName"`
		Nonce              *string `json:"nonce"`
		TimestampMillis    *Millis `json:"timestampMillis"`
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

// Millis is a time in Unix milliseconds, sent by Play as a decimal string
// (proto3's JSON form of an int64) or, as proto3 also allows, a number.
type Millis int64

// UnmarshalJSON reads "1675655009345" or 1675655009345: 1 to 18 digits,
// nothing else (no sign, fraction or exponent).
func (m *Millis) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || len(b) > 18 {
		return fmt.Errorf("timestampMillis of %d digits", len(b))
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return fmt.Errorf("timestampMillis is not a decimal integer")
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	*m = Millis(v)
	return err
}

// ParsePayload reads the JWS payload of a verified token: a JSON object
// nested at most MaxPayloadDepth deep (checked first, in one pass), with a
// requestDetails object holding timestampMillis; the members it has must
// have §10's types. An error wraps ErrMalformed.
//
// The payload is signed by Google, so it is read with encoding/json (about
// 6 µs for Play's 1.5 KB); its leniencies (member names matched in any
// case, the last of a repeated member kept) would matter only to someone
// holding the app's keys, who can sign any verdict anyway.
func ParsePayload(b []byte) (*Payload, error) {
	if err := checkDepth(b, MaxPayloadDepth); err != nil {
		return nil, err
	}
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if p.RequestDetails == nil || p.RequestDetails.TimestampMillis == nil {
		return nil, fmt.Errorf("%w: payload has no requestDetails.timestampMillis", ErrMalformed)
	}
	return &p, nil
}

// checkDepth refuses a JSON text whose arrays and objects nest deeper than
// max, and one that does not start with an object, in one pass over b
// (strings skipped, their escapes honoured). It does not validate the
// rest: encoding/json does, after it.
func checkDepth(b []byte, max int) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			if depth++; depth > max {
				return fmt.Errorf("%w: payload nested deeper than %d", ErrMalformed, max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
