package httpsig

import (
	"fmt"
)

// appendBase appends the signature base of RFC 9421 §2.5 for the covered
// components of in over msg: one line `"id": value` per component, then
// `"@signature-params": ` and in's serialisation, lines joined by "\n"
// without a trailing one. It fails (ErrComponents) when msg lacks a
// component or a value holds a control character (which could forge a
// line of the base), and (ErrMalformed) when the base would be over
// MaxBaseSize.
func appendBase(dst []byte, msg Message, in *Input) ([]byte, error) {
	start := len(dst)
	for i := 0; i < in.nComps; i++ {
		id := in.comps[i].of(in.src)
		dst = append(dst, '"')
		dst = append(dst, id...)
		dst = append(dst, `": `...)
		vstart := len(dst)
		var ok bool
		if dst, ok = msg.AppendComponent(dst, id); !ok {
			return dst, fmt.Errorf("%w: the message has no component %q", ErrComponents, printable(id))
		}
		if !plainValue(dst[vstart:]) {
			return dst, fmt.Errorf("%w: the value of %q holds a control character", ErrComponents, printable(id))
		}
		dst = append(dst, '\n')
		if len(dst)-start > MaxBaseSize {
			return dst, malformed("signature base over %d bytes", MaxBaseSize)
		}
	}
	dst = append(dst, `"@signature-params": `...)
	return in.appendParams(dst), nil
}

// plainValue reports whether v holds no control character but HTAB: a
// field value as HTTP allows it (RFC 9110 §5.5), which cannot end a line.
func plainValue(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// printable returns id for an error message when it is a short, printable
// component identifier (they are parsed as sf-strings: printable ASCII),
// and a placeholder otherwise.
func printable(id []byte) string {
	if len(id) > 40 {
		return "(long identifier)"
	}
	return string(id)
}
