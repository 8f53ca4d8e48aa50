package playintegrity

import (
	"fmt"
	"strconv"

	"github.com/attestd/attestd/verify/jsonscan"
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
// (verify/jsonscan): a JSON object nested at most MaxPayloadDepth
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
	err := p.read(s)
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

func (p *Payload) read(s *jsonscan.Scanner) error {
	o := object{Members: jsonscan.Members{S: s}}
	var buf [32]byte
	for o.Next() {
		switch name := o.Name(buf[:0]); string(name) {
		case "requestDetails":
			if o.known(name, 1) {
				p.RequestDetails = &RequestDetails{}
				o.Err = p.RequestDetails.read(s)
			}
		case "appIntegrity":
			if o.known(name, 2) {
				o.Err = p.AppIntegrity.read(s)
			}
		case "deviceIntegrity":
			if o.known(name, 4) {
				o.Err = p.DeviceIntegrity.read(s)
			}
		case "accountDetails":
			if o.known(name, 8) {
				o.Err = p.AccountDetails.read(s)
			}
		case "environmentDetails":
			if o.known(name, 16) {
				o.Err = p.EnvironmentDetails.read(s)
			}
		default:
			o.Err = s.Skip(1)
		}
	}
	return o.Err
}

// object reads the members of a JSON object with jsonscan.Members and
// marks the known ones seen:
//
//	var buf [32]byte // a name with escapes, decoded
//	for o.Next() {
//		switch name := o.Name(buf[:0]); string(name) {
//		case "a":
//			if o.known(name, name, 1) {
//				o.Err = readA(o.S)
//			}
//		…
//
// (The name is not kept in o: o pointing into a buffer would move o, and
// the scanner, to the heap.)
type object struct {
	jsonscan.Members
	seen uint
}

// known marks the known member bit seen and reports whether its value is
// to be read: false (the value consumed) for null, and false with Err set
// when the member was already seen.
func (o *object) known(name []byte, bit uint) bool {
	if o.seen&bit != 0 {
		o.Err = fmt.Errorf("member %q repeated", string(name)) // a copy: name may be in the caller's buffer
		return false
	}
	o.seen |= bit
	return !o.S.Literal("null")
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

// strInto reads a string into dst.
func strInto(s *jsonscan.Scanner, dst *string) error {
	v, err := str(s)
	*dst = v
	return err
}

// stringsInto reads an array of strings into dst.
func stringsInto(s *jsonscan.Scanner, dst *[]string) error {
	e := jsonscan.Elements{S: s}
	for e.Next() {
		v, err := str(s)
		if err != nil {
			return err
		}
		*dst = append(*dst, v)
	}
	return e.Err
}

func (r *RequestDetails) read(s *jsonscan.Scanner) error {
	o := object{Members: jsonscan.Members{S: s}}
	var buf [32]byte
	for o.Next() {
		switch name := o.Name(buf[:0]); string(name) {
		case "requestPackageName":
			if o.known(name, 1) {
				o.Err = strInto(s, &r.RequestPackageName)
			}
		case "nonce":
			if o.known(name, 2) {
				r.Nonce = new(string)
				o.Err = strInto(s, r.Nonce)
			}
		case "timestampMillis":
			if o.known(name, 4) {
				o.Err = r.readMillis(s)
			}
		default:
			o.Err = s.Skip(2)
		}
	}
	return o.Err
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
	o := object{Members: jsonscan.Members{S: s}}
	var buf [32]byte
	for o.Next() {
		switch name := o.Name(buf[:0]); string(name) {
		case "appRecognitionVerdict":
			if o.known(name, 1) {
				o.Err = strInto(s, &a.AppRecognitionVerdict)
			}
		case "packageName":
			if o.known(name, 2) {
				o.Err = strInto(s, &a.PackageName)
			}
		case "certificateSha256Digest":
			if o.known(name, 4) {
				o.Err = stringsInto(s, &a.CertificateSha256Digest)
			}
		default:
			o.Err = s.Skip(2)
		}
	}
	return o.Err
}

func (d *DeviceIntegrity) read(s *jsonscan.Scanner) error {
	return oneMember(s, "deviceRecognitionVerdict", func() error { return stringsInto(s, &d.DeviceRecognitionVerdict) })
}

func (a *AccountDetails) read(s *jsonscan.Scanner) error {
	return oneMember(s, "appLicensingVerdict", func() error { return strInto(s, &a.AppLicensingVerdict) })
}

func (e *EnvironmentDetails) read(s *jsonscan.Scanner) error {
	return oneMember(s, "playProtectVerdict", func() error { return strInto(s, &e.PlayProtectVerdict) })
}

// oneMember reads an object of which only member name is known, its value
// read by read.
func oneMember(s *jsonscan.Scanner, name string, read func() error) error {
	o := object{Members: jsonscan.Members{S: s}}
	var buf [32]byte
	for o.Next() {
		if got := o.Name(buf[:0]); string(got) != name {
			o.Err = s.Skip(2)
		} else if o.known(got, 1) {
			o.Err = read()
		}
	}
	return o.Err
}
