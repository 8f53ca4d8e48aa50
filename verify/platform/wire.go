package platform

import (
	"fmt"

	"github.com/attestd/attestd/verify/jsonscan"
	"github.com/attestd/attestd/verify/x509chain"
)

// Wire is a platform_attestation object as ScanEvidence read it: where the
// values of its known members are in the bytes it read (it aliases them),
// and the first of them that is not as §7 wants (a known member mistyped or
// given twice, or no object at all). Wire.Evidence decodes it. The zero
// value is an empty object.
type Wire struct {
	format, keyID, attestation, receipt, token jsonString
	// chain holds the first MaxCerts+1 elements; chainLen counts them all.
	chain    [x509chain.MaxCerts + 1]jsonString
	chainLen int
	seen     uint
	bad      error
}

// ScanLimits are the rules of JSON ScanEvidence enforces beyond RFC 8259.
type ScanLimits struct {
	// Depth bounds the nesting of arrays and objects in a member's value,
	// the value counting as one (0: jsonscan.MaxDepth, 32; at most 64).
	Depth int
	// UTF8 refuses strings that are not valid UTF-8.
	UTF8 bool
}

// ScanEvidence reads the JSON value at b[at:] (whitespace before it
// skipped), a platform_attestation object, into w in one pass, and returns
// the index after it. Its error is only for bytes that are not JSON within
// lim (syntax, nesting, UTF-8). What is JSON but not §7's object (not an
// object, a known member mistyped or given twice) is kept in w, and
// w.Evidence answers it as ParseEvidence does: the attest core reads the
// object inside its request body with this, once, and refuses a body that
// is not JSON with its own 400.
//
// Strings are found and checked eight bytes at a time (a base64 chain
// costs a fraction of a cycle per byte); unknown members are skipped and
// validated without recursion; member names are compared without
// allocating, escaped ones included. So any object costs at most a few
// cycles per byte.
func ScanEvidence(b []byte, at int, lim ScanLimits, w *Wire) (int, error) {
	*w = Wire{}
	r := reader{b: b, limit: lim.Depth, strict: lim.UTF8}
	if r.limit == 0 {
		r.limit = jsonscan.MaxDepth
	}
	i := jsonscan.SkipSpace(b, at)
	if i >= len(b) || b[i] != '{' {
		w.bad = fmt.Errorf("not a JSON object")
		return r.skip(i, 0)
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		start, end, next, plain, ok := jsonscan.MemberName(b, i, r.strict)
		if !ok {
			return 0, jsonscan.ErrJSON
		}
		if m := memberOf(b[start:end], plain); m == mOther {
			// Skipped here: the commonest member of a hostile object.
			if i, ok = jsonscan.SkipValue(b, next, 0, r.limit, r.strict); !ok {
				return 0, jsonscan.ErrJSON
			}
		} else {
			var err error
			if i, err = w.member(&r, next, m); err != nil {
				return 0, err
			}
		}
		var more bool
		if i, more, ok = jsonscan.AfterMember(b, i); !ok {
			return 0, jsonscan.ErrJSON
		} else if !more {
			return i, nil
		}
	}
}

// reader reads the object's bytes with its limits.
type reader struct {
	b      []byte
	limit  int
	strict bool
}

// str reads the string at b[i] (after whitespace): its raw contents,
// whether they are plain, and the index after it.
func (r *reader) str(i int) (raw []byte, plain bool, next int, err error) {
	i = jsonscan.SkipSpace(r.b, i)
	end, plain, ok := jsonscan.ReadString(r.b, i, r.strict)
	if !ok {
		return nil, false, 0, jsonscan.ErrJSON
	}
	return r.b[i+1 : end-1], plain, end, nil
}

// skip reads any value at b[i] (after whitespace), at depth depth.
func (r *reader) skip(i, depth int) (int, error) {
	end, ok := jsonscan.SkipValue(r.b, i, depth, r.limit, r.strict)
	if !ok {
		return 0, jsonscan.ErrJSON
	}
	return end, nil
}

// null reads null at b[i] (after whitespace), if it is there.
func (r *reader) null(i int) (int, bool) {
	i = jsonscan.SkipSpace(r.b, i)
	if len(r.b)-i >= 4 && string(r.b[i:i+4]) == "null" {
		return i + 4, true
	}
	return i, false
}

// Known members, by bit.
const (
	mOther  uint = 0
	mFormat uint = 1 << iota
	mChain
	mKeyID
	mAttestation
	mReceipt
	mToken
)

// memberOf is the known member the name raw (from Str) is, mOther for any
// other; it does not allocate, an escaped name being decoded on the stack.
// A plain name of a length no known member has is answered without a call.
func memberOf(raw []byte, plain bool) uint {
	if n := len(raw); plain && (n < len("token") || n > len("attestation")) {
		return mOther
	}
	return knownMember(raw, plain)
}

func knownMember(raw []byte, plain bool) uint {
	if !plain {
		var buf [16]byte
		var ok bool
		if raw, ok = jsonscan.AppendDecoded(buf[:0], raw, len("attestation")); !ok {
			return mOther
		}
	}
	switch string(raw) {
	case "format":
		return mFormat
	case "chain":
		return mChain
	case "key_id":
		return mKeyID
	case "attestation":
		return mAttestation
	case "receipt":
		return mReceipt
	case "token":
		return mToken
	}
	return mOther
}

// memberName is the name of known member m, for errors.
func memberName(m uint) string {
	switch m {
	case mFormat:
		return "format"
	case mChain:
		return "chain"
	case mKeyID:
		return "key_id"
	case mAttestation:
		return "attestation"
	case mReceipt:
		return "receipt"
	}
	return "token"
}

// member reads the value of member m at b[i] and returns the index after
// it: a syntax error is returned, a known member repeated or mistyped is
// recorded in w.bad (the first one) and its value skipped.
func (w *Wire) member(r *reader, i int, m uint) (int, error) {
	if m == mOther {
		return r.skip(i, 0)
	}
	if w.seen&m != 0 {
		w.fail(fmt.Errorf("member %q repeated", memberName(m)))
	}
	w.seen |= m
	if m == mChain {
		return w.readChain(r, i)
	}
	var dst *jsonString
	switch m {
	case mFormat:
		dst = &w.format
	case mKeyID:
		dst = &w.keyID
	case mAttestation:
		dst = &w.attestation
	case mReceipt:
		dst = &w.receipt
	case mToken:
		dst = &w.token
	}
	if next, ok := r.null(i); ok {
		*dst = jsonString{}
		return next, nil
	} else if i = next; i < len(r.b) && r.b[i] == '"' {
		raw, plain, next, err := r.str(i)
		*dst = jsonString{raw, plain}
		return next, err
	}
	w.fail(fmt.Errorf("%s is not a string", memberName(m)))
	return r.skip(i, 0)
}

// fail records err unless an earlier one is.
func (w *Wire) fail(err error) {
	if w.bad == nil {
		w.bad = err
	}
}

// readChain reads null or an array of strings at b[i] (null elements read
// as empty strings, as encoding/json reads them).
func (w *Wire) readChain(r *reader, i int) (int, error) {
	w.chainLen = 0
	b := r.b
	if next, ok := r.null(i); ok {
		return next, nil
	} else if i = next; i >= len(b) || b[i] != '[' {
		w.fail(fmt.Errorf("chain is not an array"))
		return r.skip(i, 0)
	}
	if i = jsonscan.SkipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var elem jsonString
		next, isNull := r.null(i)
		switch i = next; {
		case isNull:
		case i < len(b) && b[i] == '"':
			raw, plain, end, err := r.str(i)
			if err != nil {
				return 0, err
			}
			elem, i = jsonString{raw, plain}, end
		default:
			w.fail(fmt.Errorf("chain holds a value that is not a string"))
			var err error
			if i, err = r.skip(i, 1); err != nil {
				return 0, err
			}
		}
		if w.chainLen < len(w.chain) {
			w.chain[w.chainLen] = elem
		}
		w.chainLen++
		switch i = jsonscan.SkipSpace(b, i); {
		case i < len(b) && b[i] == ']':
			return i + 1, nil
		case i < len(b) && b[i] == ',':
			i++
		default:
			return 0, jsonscan.ErrJSON
		}
	}
}
