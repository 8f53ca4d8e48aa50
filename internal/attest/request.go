package attest

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/verify/jsonscan"
	"github.com/attestd/attestd/verify/platform"
)

// MaxBodyBytes is the request body limit of PROTOCOL.md (64 KiB).
const MaxBodyBytes = 64 << 10

// Request is a parsed attest body (PROTOCOL.md §2). Byte-slice fields point
// into the body or into the Request's own scratch space: they stay valid
// until the Request is reset or the body buffer is reused.
type Request struct {
	Nonce       []byte
	AppID       []byte
	Version     []byte
	Platform    []byte
	Signer      [32]byte
	Measurement [32]byte
	// DeviceKey is the decoded device.key (SPKI DER or 65-byte point).
	DeviceKey []byte
	Integrity Integrity
	// PlatformAttestation is the raw JSON object, nil when absent, and
	// Evidence the same as ParseRequest read it (verify/platform's
	// ScanEvidence, the one pass over those bytes), valid when
	// PlatformAttestation is not nil.
	PlatformAttestation []byte
	Evidence            platform.Wire
	// Binding is the b64u text of the binding hash as sent, nil when absent.
	Binding     []byte
	WantSecrets bool
	// DebugToken is debug_token as sent (§11), when HasDebugToken; JSON
	// null counts as absent.
	DebugToken    []byte
	HasDebugToken bool
	// PoP asks for a token bound to the device key (cnf, PROTOCOL.md §12).
	PoP bool

	scratch [512]byte
	used    int
}

// Integrity holds the SDK's own findings; absent means false.
type Integrity struct {
	Rooted, Debugger, Hooked, Emulator bool
}

func (r *Request) reset() {
	*r = Request{}
}

// take returns a slice of n bytes of scratch space (or a new one).
func (r *Request) take(n int) []byte {
	if r.used+n <= len(r.scratch) {
		b := r.scratch[r.used : r.used+n : r.used+n]
		r.used += n
		return b
	}
	return make([]byte, n)
}

func badField(field, what string) error {
	return apierr.ErrBadRequest.WithMessage(field + ": " + what)
}

// field presence bits, for required members and duplicate detection.
const (
	fNonce = 1 << iota
	fApp
	fDevice
	fPA
	fBinding
	fWant
	fAppID
	fVersion
	fPlatform
	fSigner
	fMeasurement
	fKey
	fIntegrity
	fDebugToken
	fPoP
)

// evidenceDepth is how deep the values of platform_attestation's members
// may nest: the body is one level, the object another, and the body's
// bound is maxDepth.
const evidenceDepth = maxDepth - 2

// MaxDebugTokenBytes bounds debug_token: a token is 47 bytes; anything
// longer than this is a bad request rather than an unknown token.
const MaxDebugTokenBytes = 128

// ParseRequest parses an attest body into r (which it resets first). It
// checks JSON syntax, field types and encodings, in that order of concern,
// and answers a bad_request error naming the field; it never echoes input.
// It does not check that device.key is a P-256 key (verify/devicekey does).
func ParseRequest(body []byte, r *Request) error {
	r.reset()
	var seen int
	dup := func(bit int, name string) error {
		if seen&bit != 0 {
			return badField(name, "given twice")
		}
		seen |= bit
		return nil
	}
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return badField("body", "must be a JSON object")
	}
	end, err := scanObject(body, i, 1, bodyKeys, func(key []byte, at int) (int, error) {
		switch string(key) {
		case "nonce":
			if err := dup(fNonce, "nonce"); err != nil {
				return 0, err
			}
			return r.str(body, at, "nonce", &r.Nonce, 256)
		case "app":
			if err := dup(fApp, "app"); err != nil {
				return 0, err
			}
			return r.parseApp(body, at, dup)
		case "device":
			if err := dup(fDevice, "device"); err != nil {
				return 0, err
			}
			return r.parseDevice(body, at, dup)
		case "platform_attestation":
			if err := dup(fPA, "platform_attestation"); err != nil {
				return 0, err
			}
			if at >= len(body) {
				return 0, errSyntax
			}
			if isNull(body, at) {
				return at + 4, nil
			}
			if body[at] != '{' {
				return 0, badField("platform_attestation", "must be an object")
			}
			next, err := platform.ScanEvidence(body, at, platform.ScanLimits{Depth: evidenceDepth, UTF8: true}, &r.Evidence)
			if err != nil {
				return 0, errSyntax
			}
			r.PlatformAttestation = body[at:next]
			return next, nil
		case "binding":
			if err := dup(fBinding, "binding"); err != nil {
				return 0, err
			}
			next, err := r.str(body, at, "binding", &r.Binding, 64)
			if err == nil && r.Binding != nil && !isB64u32(r.Binding) {
				err = badField("binding", "must be b64u of a SHA-256 digest")
			}
			return next, err
		case "want_secrets":
			if err := dup(fWant, "want_secrets"); err != nil {
				return 0, err
			}
			return boolean(body, at, "want_secrets", &r.WantSecrets)
		case "debug_token":
			if err := dup(fDebugToken, "debug_token"); err != nil {
				return 0, err
			}
			next, err := r.str(body, at, "debug_token", &r.DebugToken, MaxDebugTokenBytes)
			r.HasDebugToken = err == nil && !isNull(body, at)
			return next, err
		case "pop":
			if err := dup(fPoP, "pop"); err != nil {
				return 0, err
			}
			return boolean(body, at, "pop", &r.PoP)
		}
		return 0, nil
	})
	if err != nil {
		return classify(err)
	}
	if jsonscan.SkipSpace(body, end) != len(body) {
		return badField("body", "trailing data after the JSON object")
	}
	for _, req := range []struct {
		bit  int
		name string
	}{{fNonce, "nonce"}, {fApp, "app"}, {fAppID, "app.id"}, {fVersion, "app.version"}, {fPlatform, "app.platform"},
		{fSigner, "app.signer"}, {fMeasurement, "app.measurement"}, {fDevice, "device"}, {fKey, "device.key"}} {
		if seen&req.bit == 0 {
			return badField(req.name, "missing")
		}
	}
	if r.Nonce == nil {
		return badField("nonce", "missing")
	}
	return nil
}

// classify turns scanner syntax errors into bad_request, keeping field errors.
func classify(err error) error {
	if err == errSyntax {
		return apierr.Wrap(apierr.ErrBadRequest.WithMessage("malformed JSON"), err)
	}
	return err
}

func isNull(b []byte, at int) bool { return len(b)-at >= 4 && string(b[at:at+4]) == "null" }

// str reads a string member into *dst (nil for JSON null), at most max bytes
// after unescaping.
func (r *Request) str(b []byte, at int, name string, dst *[]byte, max int) (int, error) {
	if at >= len(b) {
		return 0, errSyntax
	}
	if isNull(b, at) {
		return at + 4, nil
	}
	if b[at] != '"' {
		return 0, badField(name, "must be a string")
	}
	next, plain, ok := jsonscan.ReadString(b, at, true)
	if !ok {
		return 0, errSyntax
	}
	raw := b[at+1 : next-1]
	if len(raw) > 6*max {
		return 0, badField(name, fmt.Sprintf("longer than %d bytes", max))
	}
	if !plain && bytes.IndexByte(raw, '\\') >= 0 {
		// Read strictly, it decodes to at most its own length.
		raw, _ = jsonscan.AppendDecoded(r.take(len(raw))[:0], raw, len(raw))
	}
	if len(raw) > max {
		return 0, badField(name, fmt.Sprintf("longer than %d bytes", max))
	}
	*dst = raw
	return next, nil
}

func boolean(b []byte, at int, name string, dst *bool) (int, error) {
	switch {
	case at >= len(b):
		return 0, errSyntax
	case isNull(b, at):
		return at + 4, nil
	case len(b)-at >= 4 && string(b[at:at+4]) == "true":
		*dst = true
		return at + 4, nil
	case len(b)-at >= 5 && string(b[at:at+5]) == "false":
		*dst = false
		return at + 5, nil
	}
	return 0, badField(name, "must be true or false")
}

func (r *Request) parseApp(b []byte, at int, dup func(int, string) error) (int, error) {
	if at >= len(b) {
		return 0, errSyntax
	}
	if b[at] != '{' {
		return 0, badField("app", "must be an object")
	}
	return scanObject(b, at, 2, appKeys, func(key []byte, at int) (int, error) {
		switch string(key) {
		case "id":
			if err := dup(fAppID, "app.id"); err != nil {
				return 0, err
			}
			return r.str(b, at, "app.id", &r.AppID, 256)
		case "version":
			if err := dup(fVersion, "app.version"); err != nil {
				return 0, err
			}
			return r.str(b, at, "app.version", &r.Version, 128)
		case "platform":
			if err := dup(fPlatform, "app.platform"); err != nil {
				return 0, err
			}
			next, err := r.str(b, at, "app.platform", &r.Platform, 16)
			if err == nil && r.Platform != nil && string(r.Platform) != "android" && string(r.Platform) != "ios" {
				err = badField("app.platform", "must be android or ios")
			}
			return next, err
		case "signer":
			if err := dup(fSigner, "app.signer"); err != nil {
				return 0, err
			}
			return r.digest(b, at, "app.signer", &r.Signer)
		case "measurement":
			if err := dup(fMeasurement, "app.measurement"); err != nil {
				return 0, err
			}
			return r.digest(b, at, "app.measurement", &r.Measurement)
		}
		return 0, nil
	})
}

// digest reads a required b64u string of exactly 32 bytes.
func (r *Request) digest(b []byte, at int, name string, dst *[32]byte) (int, error) {
	var s []byte
	next, err := r.str(b, at, name, &s, 64)
	if err != nil {
		return 0, err
	}
	if s == nil {
		return 0, badField(name, "missing")
	}
	if !decodeB64u(dst[:], s) {
		return 0, badField(name, "must be b64u of 32 bytes")
	}
	return next, nil
}

func (r *Request) parseDevice(b []byte, at int, dup func(int, string) error) (int, error) {
	if at >= len(b) {
		return 0, errSyntax
	}
	if b[at] != '{' {
		return 0, badField("device", "must be an object")
	}
	return scanObject(b, at, 2, deviceKeys, func(key []byte, at int) (int, error) {
		switch string(key) {
		case "key":
			if err := dup(fKey, "device.key"); err != nil {
				return 0, err
			}
			var s []byte
			next, err := r.str(b, at, "device.key", &s, 256)
			if err != nil {
				return 0, err
			}
			if s == nil {
				return 0, badField("device.key", "missing")
			}
			out := r.take(base64.RawURLEncoding.DecodedLen(len(s)))
			n, err := base64.RawURLEncoding.Strict().Decode(out, s)
			if err != nil {
				return 0, badField("device.key", "must be b64u")
			}
			r.DeviceKey = out[:n]
			return next, nil
		case "integrity":
			if err := dup(fIntegrity, "device.integrity"); err != nil {
				return 0, err
			}
			if isNull(b, at) {
				return at + 4, nil
			}
			return r.parseIntegrity(b, at)
		}
		return 0, nil
	})
}

func (r *Request) parseIntegrity(b []byte, at int) (int, error) {
	if at >= len(b) {
		return 0, errSyntax
	}
	if b[at] != '{' {
		return 0, badField("device.integrity", "must be an object")
	}
	var seen int
	return scanObject(b, at, 3, integrityKeys, func(key []byte, at int) (int, error) {
		var dst *bool
		var bit int
		switch string(key) {
		case "rooted":
			dst, bit = &r.Integrity.Rooted, 1
		case "debugger":
			dst, bit = &r.Integrity.Debugger, 2
		case "hooked":
			dst, bit = &r.Integrity.Hooked, 4
		case "emulator":
			dst, bit = &r.Integrity.Emulator, 8
		default:
			return 0, nil
		}
		name := "device.integrity." + string(key)
		if seen&bit != 0 {
			return 0, badField(name, "given twice")
		}
		seen |= bit
		return boolean(b, at, name, dst)
	})
}

// decodeB64u decodes s (b64u, no padding) into dst, which it must fill exactly.
func decodeB64u(dst []byte, s []byte) bool {
	if base64.RawURLEncoding.DecodedLen(len(s)) != len(dst) {
		return false
	}
	n, err := base64.RawURLEncoding.Strict().Decode(dst, s)
	return err == nil && n == len(dst)
}

func isB64u32(s []byte) bool {
	var d [32]byte
	return decodeB64u(d[:], s)
}

// IsJSONObject reports whether body is one well-formed JSON object.
func IsJSONObject(body []byte) bool {
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	end, err := skipValue(body, i, 0)
	return err == nil && jsonscan.SkipSpace(body, end) == len(body)
}
