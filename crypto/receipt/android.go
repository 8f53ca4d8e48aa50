package receipt

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// Android is what a receipt made from android-key evidence records beyond
// the §7 findings, so that each use is checked again (PROTOCOL.md §9): the
// serial numbers of the chain, for revocation, and what the key description
// attested, for the policy's patch age, OS version, boot keys and version
// code. The zero value is what a receipt issued before §9 holds: nothing.
// It is comparable.
type Android struct {
	// Serials are the chain's certificate serial numbers, leaf first.
	Serials Serials
	// OSVersion, OSPatchLevel (YYYYMM), VendorPatchLevel and
	// BootPatchLevel (YYYYMMDD) as attested; 0 is absent.
	OSVersion, OSPatchLevel, VendorPatchLevel, BootPatchLevel int64
	// BootKey identifies the verified boot key (androidkey.BootKeyID),
	// when HasBootKey (recorded for a self-signed boot, the only one whose
	// key the policy reads).
	BootKey    [32]byte
	HasBootKey bool
	// VersionCode is the app's attested version code, when HasVersionCode.
	VersionCode    int64
	HasVersionCode bool
}

// Bounds on the serials a receipt records.
const (
	// MaxSerials is the most certificates a receipt records (a chain sent
	// has at most 8).
	MaxSerials = 8
	// MaxSerialLen is the longest serial number recorded, in bytes (RFC
	// 5280 §4.1.2.2: 20 octets).
	MaxSerialLen = 20
)

// Serials is a list of certificate serial numbers, packed: each a length
// byte and that many big-endian bytes. The zero value is the empty list.
type Serials string

// PackSerials packs serial numbers (big-endian bytes, leading zeros
// stripped): at most MaxSerials of at most MaxSerialLen bytes each, else an
// error wrapping ErrKey.
func PackSerials(serials [][]byte) (Serials, error) {
	if len(serials) > MaxSerials {
		return "", fmt.Errorf("%w: %d serials, at most %d", ErrKey, len(serials), MaxSerials)
	}
	var b []byte
	for _, s := range serials {
		for len(s) > 0 && s[0] == 0 {
			s = s[1:]
		}
		if len(s) > MaxSerialLen {
			return "", fmt.Errorf("%w: a serial of %d bytes, at most %d", ErrKey, len(s), MaxSerialLen)
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return Serials(b), nil
}

// All yields each serial number as its big-endian bytes (a string, so
// that a status list lookup allocates nothing).
func (s Serials) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		for rest := string(s); len(rest) > 0; {
			n := int(rest[0])
			if n+1 > len(rest) {
				return // never: decodeBody and PackSerials make whole lists
			}
			if !yield(rest[1 : 1+n]) {
				return
			}
			rest = rest[1+n:]
		}
	}
}

// Len is the number of serials.
func (s Serials) Len() int {
	n := 0
	for range s.All() {
		n++
	}
	return n
}

// validSerials reports whether b is a packed list within the bounds.
func validSerials(b []byte) bool {
	n := 0
	for len(b) > 0 {
		l := int(b[0])
		if l > MaxSerialLen || l+1 > len(b) || n == MaxSerials {
			return false
		}
		b = b[1+l:]
		n++
	}
	return n > 0
}

// Extension tags of the receipt body (body.go), in the order they are
// written. Tags 1-15 are Android's (§9); 16 and up are free for other
// formats.
const (
	tagSerials          = 1
	tagOSVersion        = 2
	tagOSPatchLevel     = 3
	tagVendorPatchLevel = 4
	tagBootPatchLevel   = 5
	tagBootKey          = 6
	tagVersionCode      = 7
)

// appendAndroid appends a's extension items: each present field as a tag
// byte, a length byte and its value (integers as signed varints, the
// serials packed, the boot key's 32 bytes): a receipt is sent with every
// attest, so it is kept short.
func appendAndroid(b []byte, a Android) []byte {
	item := func(tag byte, v []byte) {
		b = append(b, tag, byte(len(v)))
		b = append(b, v...)
	}
	if a.Serials != "" {
		item(tagSerials, []byte(a.Serials))
	}
	var buf [binary.MaxVarintLen64]byte
	for _, f := range []struct {
		tag byte
		v   int64
	}{{tagOSVersion, a.OSVersion}, {tagOSPatchLevel, a.OSPatchLevel}, {tagVendorPatchLevel, a.VendorPatchLevel}, {tagBootPatchLevel, a.BootPatchLevel}} {
		if f.v != 0 {
			item(f.tag, binary.AppendVarint(buf[:0], f.v))
		}
	}
	if a.HasBootKey {
		item(tagBootKey, a.BootKey[:])
	}
	if a.HasVersionCode {
		item(tagVersionCode, binary.AppendVarint(buf[:0], a.VersionCode))
	}
	return b
}

func (a *Android) setInt(tag byte, n int64) {
	switch tag {
	case tagOSVersion:
		a.OSVersion = n
	case tagOSPatchLevel:
		a.OSPatchLevel = n
	case tagVendorPatchLevel:
		a.VendorPatchLevel = n
	case tagBootPatchLevel:
		a.BootPatchLevel = n
	case tagVersionCode:
		a.VersionCode, a.HasVersionCode = n, true
	}
}

// decodeAndroid reads the extension items after the fixed fields: tags
// strictly increasing, each known and of its length, nothing else.
func decodeAndroid(b []byte) (Android, error) {
	var a Android
	last := byte(0)
	for len(b) > 0 {
		if len(b) < 2 || int(b[1]) > len(b)-2 || b[0] <= last {
			return Android{}, errBody
		}
		tag, v := b[0], b[2:2+int(b[1])]
		b, last = b[2+int(b[1]):], tag
		switch tag {
		case tagSerials:
			if !validSerials(v) {
				return Android{}, errBody
			}
			a.Serials = Serials(v)
		case tagOSVersion, tagOSPatchLevel, tagVendorPatchLevel, tagBootPatchLevel, tagVersionCode:
			n, k := binary.Varint(v)
			if k <= 0 || k != len(v) {
				return Android{}, errBody
			}
			a.setInt(tag, n)
		case tagBootKey:
			if len(v) != len(a.BootKey) {
				return Android{}, errBody
			}
			copy(a.BootKey[:], v)
			a.HasBootKey = true
		default:
			return Android{}, errBody
		}
	}
	return a, nil
}
