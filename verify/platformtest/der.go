package platformtest

// A small DER writer for hand-built key descriptions.

const (
	classUniversal = 0
	classContext   = 2
)

// element encodes one DER element with the given class, form and tag
// number, its body the concatenation of parts.
func element(class byte, constructed bool, tag uint32, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	first := class << 6
	if constructed {
		first |= 0x20
	}
	var out []byte
	if tag < 31 {
		out = append(out, first|byte(tag))
	} else {
		out = append(out, first|0x1f)
		var digits []byte
		for t := tag; ; t >>= 7 {
			digits = append([]byte{byte(t & 0x7f)}, digits...)
			if t < 0x80 {
				break
			}
		}
		for i := 0; i < len(digits)-1; i++ {
			digits[i] |= 0x80
		}
		out = append(out, digits...)
	}
	n := len(body)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}

func sequence(parts ...[]byte) []byte { return element(classUniversal, true, 16, parts...) }
func set(parts ...[]byte) []byte      { return element(classUniversal, true, 17, parts...) }
func octets(b []byte) []byte          { return element(classUniversal, false, 4, b) }
func boolean(v bool) []byte {
	if v {
		return element(classUniversal, false, 1, []byte{0xff})
	}
	return element(classUniversal, false, 1, []byte{0})
}
func integer(v int64) []byte    { return element(classUniversal, false, 2, twos(v)) }
func enumerated(v int64) []byte { return element(classUniversal, false, 10, twos(v)) }

// explicit wraps inner in a constructed context-specific [tag].
func explicit(tag uint32, inner []byte) []byte { return element(classContext, true, tag, inner) }

// twos is the minimal two's complement big-endian encoding of v.
func twos(v int64) []byte {
	b := []byte{byte(v)}
	for v >>= 8; v != 0 && v != -1; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	if (v == 0) != (b[0]&0x80 == 0) {
		b = append([]byte{byte(v)}, b...)
	}
	return b
}
