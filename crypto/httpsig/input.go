package httpsig

import (
	"strconv"
)

// Input is one signature's metadata: the member of Signature-Input under
// its label (RFC 9421 §4.1), parsed. Its spans point into the field value
// it was parsed from, which must stay unchanged while the Input is used.
type Input struct {
	src    []byte // the member's value
	list   innerList
	comps  [MaxComponents]span
	nComps int

	Created, Expires       int64
	HasCreated, HasExpires bool
	keyID, alg             span
	hasKeyID, hasAlg       bool
}

// Components returns the number of covered components.
func (in *Input) Components() int { return in.nComps }

// Component returns the i-th covered component identifier.
func (in *Input) Component(i int) []byte { return in.comps[i].of(in.src) }

// Covers reports whether the component id is covered.
func (in *Input) Covers(id string) bool {
	for i := 0; i < in.nComps; i++ {
		if string(in.comps[i].of(in.src)) == id {
			return true
		}
	}
	return false
}

// KeyID returns the keyid parameter as sent (escapes undone only when it
// had none: a keyid with escapes is reported absent, since no key this
// package checks has '"' or '\' in its id).
func (in *Input) KeyID() ([]byte, bool) { return in.keyID.of(in.src), in.hasKeyID }

// AlgParam returns the alg parameter, if any.
func (in *Input) AlgParam() ([]byte, bool) { return in.alg.of(in.src), in.hasAlg }

// parseInput parses val, the value of a Signature-Input member, into in:
// an inner list of component identifiers (sf-strings without parameters,
// each at most MaxComponentLen bytes, none twice, never
// "@signature-params"), and its signature parameters (RFC 9421 §2.3):
// created and expires (integers), keyid, alg, nonce and tag (strings).
// Any other parameter, or one of another type, is refused.
func parseInput(val []byte, in *Input) error {
	*in = Input{src: val}
	if err := parseInnerListValue(val, &in.list); err != nil {
		return err
	}
	for i := 0; i < in.list.n; i++ {
		it := &in.list.items[i]
		if it.kind != kString || it.esc {
			return malformed("a component identifier is not a plain string")
		}
		if in.list.iparam[i].n != 0 {
			return malformed("component parameters are not supported")
		}
		name := it.raw.of(val)
		if len(name) == 0 || len(name) > MaxComponentLen || string(name) == "@signature-params" {
			return malformed("bad component identifier")
		}
		for j := 0; j < i; j++ {
			if string(in.comps[j].of(val)) == string(name) {
				return malformed("component covered twice")
			}
		}
		in.comps[i] = it.raw
	}
	in.nComps = in.list.n
	return in.readParams()
}

// readParams fills in's parameter fields from the list's parameters.
func (in *Input) readParams() error {
	ps := &in.list.params
	for i := 0; i < ps.n; i++ {
		pr := &ps.p[i]
		want := kString
		switch string(pr.key.of(in.src)) {
		case "created":
			want = kInteger
			in.Created, in.HasCreated = pr.val.n, true
		case "expires":
			want = kInteger
			in.Expires, in.HasExpires = pr.val.n, true
		case "keyid":
			in.keyID, in.hasKeyID = pr.val.raw, !pr.val.esc
		case "alg":
			in.alg, in.hasAlg = pr.val.raw, true
		case "nonce", "tag":
		default:
			return malformed("unknown signature parameter")
		}
		if pr.val.kind != want {
			return malformed("signature parameter of the wrong type")
		}
	}
	return nil
}

// appendParams appends the serialisation of in (RFC 8941 §4.1.1.1): the
// value of "@signature-params". Only strings (kept as sent: their escapes
// are those a serialiser writes) and integers (re-serialised, so that
// "created=007" signs as "created=7") occur in an Input.
func (in *Input) appendParams(dst []byte) []byte {
	dst = append(dst, '(')
	for i := 0; i < in.nComps; i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, '"')
		dst = append(dst, in.comps[i].of(in.src)...)
		dst = append(dst, '"')
	}
	dst = append(dst, ')')
	ps := &in.list.params
	for i := 0; i < ps.n; i++ {
		pr := &ps.p[i]
		dst = append(dst, ';')
		dst = append(dst, pr.key.of(in.src)...)
		dst = append(dst, '=')
		if pr.val.kind == kInteger {
			dst = strconv.AppendInt(dst, pr.val.n, 10)
			continue
		}
		dst = append(dst, '"')
		dst = append(dst, pr.val.raw.of(in.src)...)
		dst = append(dst, '"')
	}
	return dst
}

// Params are the signature parameters a signer sets.
type Params struct {
	Created int64  // always sent
	KeyID   string // sent when not empty
	Alg     string // sent when not empty
}

// appendSigParams appends the serialised inner list of components with
// params p, in the order created, keyid, alg (docs/protocol.md §10). Component
// identifiers and string values must be printable ASCII without '"' or
// '\' (checked by the caller).
func appendSigParams(dst []byte, components []string, p Params) []byte {
	dst = append(dst, '(')
	for i, c := range components {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, '"')
		dst = append(dst, c...)
		dst = append(dst, '"')
	}
	dst = append(dst, ");created="...)
	dst = strconv.AppendInt(dst, p.Created, 10)
	if p.KeyID != "" {
		dst = append(dst, `;keyid="`...)
		dst = append(dst, p.KeyID...)
		dst = append(dst, '"')
	}
	if p.Alg != "" {
		dst = append(dst, `;alg="`...)
		dst = append(dst, p.Alg...)
		dst = append(dst, '"')
	}
	return dst
}
