package androidkey

import (
	"fmt"
)

// A minimal DER reader for the key description: definite lengths only, tag
// numbers up to maxTagNumber, no recursion (the schema fixes the depth).

// ASN.1 classes and the universal tags the key description uses.
const (
	classUniversal = 0
	classContext   = 2

	tagBoolean     = 1
	tagInteger     = 2
	tagOctetString = 4
	tagEnumerated  = 10
	tagSequence    = 16
	tagSet         = 17

	maxTagNumber = 1 << 21 // three base-128 bytes; the schema's largest tag is below 1000
)

// tlv is one decoded element. body aliases the input.
type tlv struct {
	class       uint8
	constructed bool
	tag         uint32
	body        []byte
}

func (t tlv) is(class uint8, constructed bool, tag uint32) bool {
	return t.class == class && t.constructed == constructed && t.tag == tag
}

// readTLV decodes the element at the start of b and returns it with the
// bytes that follow it.
func readTLV(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, fmt.Errorf("%w: truncated element", errDER)
	}
	t := tlv{class: b[0] >> 6, constructed: b[0]&0x20 != 0, tag: uint32(b[0] & 0x1f)}
	i := 1
	if t.tag == 0x1f {
		t.tag = 0
		for {
			if i >= len(b) {
				return tlv{}, nil, fmt.Errorf("%w: truncated tag", errDER)
			}
			c := b[i]
			i++
			if t.tag == 0 && c == 0x80 {
				return tlv{}, nil, fmt.Errorf("%w: non-minimal tag", errDER)
			}
			t.tag = t.tag<<7 | uint32(c&0x7f)
			if t.tag >= maxTagNumber {
				return tlv{}, nil, fmt.Errorf("%w: tag number too large", errDER)
			}
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, fmt.Errorf("%w: truncated length", errDER)
	}
	n := int(b[i])
	i++
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 {
			return tlv{}, nil, fmt.Errorf("%w: indefinite length", errDER)
		}
		if k > 3 || i+k > len(b) {
			return tlv{}, nil, fmt.Errorf("%w: bad length", errDER)
		}
		n = 0
		for _, c := range b[i : i+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if n > len(b)-i {
		return tlv{}, nil, fmt.Errorf("%w: length %d beyond input", errDER, n)
	}
	t.body = b[i : i+n : i+n]
	return t, b[i+n:], nil
}

// expect reads one element that must have the given class, form and tag.
func expect(b []byte, class uint8, constructed bool, tag uint32, what string) (tlv, []byte, error) {
	t, rest, err := readTLV(b)
	if err != nil {
		return tlv{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	if !t.is(class, constructed, tag) {
		return tlv{}, nil, fmt.Errorf("%s: %w: unexpected tag [%d/%d]", what, errDER, t.class, t.tag)
	}
	return t, rest, nil
}

// only reads exactly one element from b: nothing may follow it.
func only(b []byte, class uint8, constructed bool, tag uint32, what string) (tlv, error) {
	t, rest, err := expect(b, class, constructed, tag, what)
	if err != nil {
		return tlv{}, err
	}
	if len(rest) != 0 {
		return tlv{}, fmt.Errorf("%s: %w: trailing bytes", what, errDER)
	}
	return t, nil
}

// parseInt decodes a two's complement INTEGER or ENUMERATED body that fits
// in an int64.
func parseInt(body []byte) (int64, error) {
	if len(body) == 0 || len(body) > 8 {
		return 0, fmt.Errorf("%w: integer of %d bytes", errDER, len(body))
	}
	v := int64(int8(body[0]))
	for _, c := range body[1:] {
		v = v<<8 | int64(c)
	}
	return v, nil
}

// parseBool decodes a BOOLEAN body. DER wants 0xff for true; some devices
// encode deviceLocked as 0x01, so every non-zero byte is read as true, as
// Google's own verifier does.
func parseBool(body []byte) (bool, error) {
	if len(body) != 1 {
		return false, fmt.Errorf("%w: boolean of %d bytes", errDER, len(body))
	}
	return body[0] != 0, nil
}
