package token

// JWS carries ES256 signatures as r‖s, each 32 bytes big-endian (RFC 7518
// §3.4); crypto/ecdsa speaks ASN.1 DER. These convert between the two.

// maxDERSig is the longest DER encoding of a P-256 signature:
// SEQUENCE{INTEGER(33 bytes), INTEGER(33 bytes)}.
const maxDERSig = 2 + 2*(2+33)

// rawToDER appends the DER form of the 64-byte raw signature sig.
func rawToDER(dst, sig []byte) []byte {
	r, s := derInt(sig[:32]), derInt(sig[32:])
	n := 2 + len(r) + 2 + len(s)
	if r[0]&0x80 != 0 {
		n++
	}
	if s[0]&0x80 != 0 {
		n++
	}
	dst = append(dst, 0x30, byte(n))
	dst = appendDERInt(dst, r)
	return appendDERInt(dst, s)
}

// derInt strips leading zero bytes, keeping at least one.
func derInt(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func appendDERInt(dst, b []byte) []byte {
	if b[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(b)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(b)))
	}
	return append(dst, b...)
}

// derToRaw writes the DER signature der, as crypto/ecdsa makes it, into raw
// (64 bytes) as r‖s, and reports whether der had that form.
func derToRaw(raw, der []byte) bool {
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return false
	}
	rest := der[2:]
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || len(rest) < 2+int(rest[1]) {
			return false
		}
		v := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > 32 {
			return false
		}
		dst := raw[i*32 : (i+1)*32]
		clear(dst[:32-len(v)])
		copy(dst[32-len(v):], v)
	}
	return len(rest) == 0
}
