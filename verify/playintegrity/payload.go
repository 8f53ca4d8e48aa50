package playintegrity

import (
	"fmt"
	"strconv"

	"github.com/attestd/attestd/verify/internal/jsonscan"
)

// MaxPayloadDepth bounds the nesting of the payload's objects and arrays
// (Play's is 4 deep: environmentDetails.appAccessRiskVerdict.appsDetected).
const MaxPayloadDepth = 16

// Payload is the part of a verdict (Google's "integrity verdict" JSON)
// that §10 reads. Other members are ignored.
type Payload struct {
	// RequestDetails is nil when the payload has none.
	RequestDetails     *RequestDetails
	AppIntegrity       AppIntegrity
	DeviceIntegrity    DeviceIntegrity
	AccountDetails     AccountDetails
	EnvironmentDetails EnvironmentDetails
}

// RequestDetails is the verdict's requestDetails.
type RequestDetails struct {
	RequestPackageName string
	Nonce              *string // nil when absent
	TimestampMillis    *Millis // nil when absent
}

// AppIntegrity is the verdict's appIntegrity.
type AppIntegrity struct {
	AppRecognitionVerdict   string
	PackageName             string
	CertificateSha256Digest []string
}

// DeviceIntegrity is the verdict's deviceIntegrity.
type DeviceIntegrity struct {
	DeviceRecognitionVerdict []string
}

// AccountDetails is the verdict's accountDetails.
type AccountDetails struct {
	AppLicensingVerdict string
}

// EnvironmentDetails is the verdict's environmentDetails.
type EnvironmentDetails struct {
	PlayProtectVerdict string
}

// Millis is a time in Unix milliseconds, sent by Play as a decimal string
// (proto3's JSON form of an int64) or, as proto3 also allows, a number.
type Millis int64

// parseMillis reads 1 to 18 decimal digits, nothing else (no sign,
// fraction or exponent).
func parseMillis(b []byte) (Millis, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("timestampMillis of %d digits", len(b))
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("timestampMillis is not a decimal integer")
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	return Millis(v), err
}

// ParsePayload reads the JWS payload of a verified token in one pass
// (verify/internal/jsonscan): a JSON object nested at most MaxPayloadDepth
// deep, with a requestDetails object holding timestampMillis. The members
// §10 reads must have their types (strings; arrays of strings for
// certificateSha256Digest and deviceRecognitionVerdict; objects for the
// five sections; a decimal string or integer for timestampMillis) or be
// null; their names are compared exactly, and one given twice in an object
// is refused. Other members are skipped (and validated). An error wraps
// ErrMalformed.
func ParsePayload(b []byte) (*Payload, error) {
	s := &jsonscan.Scanner{B: b, Max: MaxPayloadDepth}
	p := &Payload{}
	err := object(s, func(name []byte, bit func(uint) error) error {
		switch string(name) {
		case "requestDetails":
			if err := bit(1); err != nil || s.Literal("null") {
				return err
			}
			p.RequestDetails = &RequestDetails{}
			return p.RequestDetails.read(s)
		case "appIntegrity":
			return section(s, bit, 2, p.AppIntegrity.read)
		case "deviceIntegrity":
			return section(s, bit, 4, p.DeviceIntegrity.read)
		case "accountDetails":
			return section(s, bit, 8, p.AccountDetails.read)
		case "environmentDetails":
			return section(s, bit, 16, p.EnvironmentDetails.read)
		}
		return s.Skip(1)
	})
	if err == nil && !s.End() {
		err = fmt.Errorf("data after the object")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if p.RequestDetails == nil || p.RequestDetails.TimestampMillis == nil {
		return nil, fmt.Errorf("%w: payload has no requestDetails.timestampMillis", ErrMalformed)
	}
	return p, nil
}

// section reads a known member's object (or null) with read, once.
func section(s *jsonscan.Scanner, bit func(uint) error, b uint, read func(*jsonscan.Scanner) error) error {
	if err := bit(b); err != nil || s.Literal("null") {
		return err
	}
	return read(s)
}

// object reads an object whose members member reads (name is only valid
// during the call); bit(b) marks a known member seen, and fails when it
// was already.
func object(s *jsonscan.Scanner, member func(name []byte, bit func(uint) error) error) error {
	if !s.Eat('{') {
		return fmt.Errorf("not a JSON object")
	}
	var seen uint
	for first := true; !s.Eat('}'); first = false {
		if !first && !s.Eat(',') {
			return jsonscan.ErrJSON
		}
		name, plain, err := s.Str()
		if err != nil {
			return err
		}
		if !plain {
			name = jsonscan.DecodeString(name)
		}
		if !s.Eat(':') {
			return jsonscan.ErrJSON
		}
		if err := member(name, func(b uint) error {
			if seen&b != 0 {
				return fmt.Errorf("member %q repeated", name)
			}
			seen |= b
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// str reads a string and returns its value.
func str(s *jsonscan.Scanner) (string, error) {
	raw, plain, err := s.Str()
	if err != nil {
		return "", err
	}
	if plain {
		return string(raw), nil
	}
	return string(jsonscan.DecodeString(raw)), nil
}

// strMember reads a known string member (or null) into dst, once.
func strMember(s *jsonscan.Scanner, bit func(uint) error, b uint, dst *string) error {
	if err := bit(b); err != nil || s.Literal("null") {
		return err
	}
	v, err := str(s)
	*dst = v
	return err
}

// stringsMember reads a known array of strings (or null) into dst, once.
func stringsMember(s *jsonscan.Scanner, bit func(uint) error, b uint, dst *[]string) error {
	if err := bit(b); err != nil || s.Literal("null") {
		return err
	}
	if !s.Eat('[') {
		return fmt.Errorf("not an array")
	}
	if s.Eat(']') {
		return nil
	}
	for {
		v, err := str(s)
		if err != nil {
			return err
		}
		*dst = append(*dst, v)
		if s.Eat(']') {
			return nil
		}
		if !s.Eat(',') {
			return jsonscan.ErrJSON
		}
	}
}

func (r *RequestDetails) read(s *jsonscan.Scanner) error {
	return object(s, func(name []byte, bit func(uint) error) error {
		switch string(name) {
		case "requestPackageName":
			return strMember(s, bit, 1, &r.RequestPackageName)
		case "nonce":
			if err := bit(2); err != nil || s.Literal("null") {
				return err
			}
			n, err := str(s)
			r.Nonce = &n
			return err
		case "timestampMillis":
			if err := bit(4); err != nil || s.Literal("null") {
				return err
			}
			return r.readMillis(s)
		}
		return s.Skip(2)
	})
}

// readMillis reads timestampMillis, a string of digits or a number.
func (r *RequestDetails) readMillis(s *jsonscan.Scanner) error {
	var digits []byte
	if s.Peek() == '"' {
		raw, _, err := s.Str()
		if err != nil {
			return err
		}
		digits = raw
	} else {
		start := s.I
		if err := s.Number(); err != nil {
			return err
		}
		digits = s.B[start:s.I] // Peek skipped the whitespace before it
	}
	m, err := parseMillis(digits)
	r.TimestampMillis = &m
	return err
}

func (a *AppIntegrity) read(s *jsonscan.Scanner) error {
	return object(s, func(name []byte, bit func(uint) error) error {
		switch string(name) {
		case "appRecognitionVerdict":
			return strMember(s, bit, 1, &a.AppRecognitionVerdict)
		case "packageName":
			return strMember(s, bit, 2, &a.PackageName)
		case "certificateSha256Digest":
			return stringsMember(s, bit, 4, &a.CertificateSha256Digest)
		}
		return s.Skip(2)
	})
}

func (d *DeviceIntegrity) read(s *jsonscan.Scanner) error {
	return object(s, func(name []byte, bit func(uint) error) error {
		if string(name) == "deviceRecognitionVerdict" {
			return stringsMember(s, bit, 1, &d.DeviceRecognitionVerdict)
		}
		return s.Skip(2)
	})
}

func (a *AccountDetails) read(s *jsonscan.Scanner) error {
	return object(s, func(name []byte, bit func(uint) error) error {
		if string(name) == "appLicensingVerdict" {
			return strMember(s, bit, 1, &a.AppLicensingVerdict)
		}
		return s.Skip(2)
	})
}

func (e *EnvironmentDetails) read(s *jsonscan.Scanner) error {
	return object(s, func(name []byte, bit func(uint) error) error {
		if string(name) == "playProtectVerdict" {
			return strMember(s, bit, 1, &e.PlayProtectVerdict)
		}
		return s.Skip(2)
	})
}
