package attest

import (
	"errors"

	"github.com/attestd/attestd/verify/jsonscan"
)

// The attest request is read by verify/jsonscan, allocation-free:
// encoding/json would cost a dozen allocations and several microseconds per
// request on the hot path. This reads the one shape we accept and skips the
// rest (unknown members are ignored, PROTOCOL.md conventions); strings must
// be Unicode (valid UTF-8, no lone surrogate escape). The scanner's cost
// per byte is bounded whatever the JSON (a long string eight bytes at a
// time, no recursion); the platform_attestation object is read by
// verify/platform's ScanEvidence, once.

var errSyntax = errors.New("json: syntax error")

const maxDepth = 32

// The lengths of the names each object's reader reads, for scanObject
// (every case of its switch: a name left out here is ignored).
const (
	bodyKeys = 1<<len("nonce") | 1<<len("app") | 1<<len("device") | 1<<len("platform_attestation") |
		1<<len("binding") | 1<<len("want_secrets") | 1<<len("debug_token") | 1<<len("pop")
	appKeys       = 1<<len("id") | 1<<len("version") | 1<<len("platform") | 1<<len("signer") | 1<<len("measurement")
	deviceKeys    = 1<<len("key") | 1<<len("integrity")
	integrityKeys = 1<<len("rooted") | 1<<len("debugger") | 1<<len("hooked") | 1<<len("emulator")
)

// scanObject walks the object at b[i] == '{', at depth depth. For each
// member it calls member(key, valueIndex) with the decoded key (escaped
// keys, rare, are decoded into a new slice so that "\u006eonce" is "nonce"
// here as in any other JSON parser); member returns the index after the
// value it consumed, or 0 to have the value skipped. Duplicate detection is
// the caller's. keys has bit n set when a name member reads is n bytes
// long (keyLen): a plain name of another length is skipped without
// calling member, as member would skip it, so that the cost of many
// short unknown members is the scanner's alone.
func scanObject(b []byte, i, depth int, keys uint64, member func(key []byte, at int) (int, error)) (int, error) {
	if depth > maxDepth || i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	// Members read with jsonscan.MemberName, the index kept here (in a
	// register) rather than in a jsonscan.Members: a body of 10,000 unknown
	// members costs half as much.
	if i = jsonscan.SkipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		start, end, at, plain, ok := jsonscan.MemberName(b, i, true)
		if !ok {
			return 0, errSyntax
		}
		var next int
		if n := end - start; !plain || n >= 64 || keys>>n&1 == 1 {
			key := b[start:end]
			if !plain {
				key = jsonscan.DecodeString(key)
			}
			var err error
			if next, err = member(key, at); err != nil {
				return 0, err
			}
		}
		if next == 0 {
			if next, ok = jsonscan.SkipValue(b, at, depth, maxDepth, true); !ok {
				return 0, errSyntax
			}
		}
		var more bool
		if i, more, ok = jsonscan.AfterMember(b, next); !ok {
			return 0, errSyntax
		} else if !more {
			return i, nil
		}
	}
}

// skipValue skips the value at b[i] (after whitespace), at depth depth: a
// container at depth maxDepth or deeper is refused.
func skipValue(b []byte, i, depth int) (int, error) {
	end, ok := jsonscan.SkipValue(b, i, depth, maxDepth, true)
	if !ok {
		return 0, errSyntax
	}
	return end, nil
}
