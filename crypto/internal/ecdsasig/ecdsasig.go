// Package ecdsasig converts P-256 ECDSA signatures between the ASN.1 DER
// form crypto/ecdsa speaks and the r‖s form of JWS ES256 (RFC 7518 §3.4)
// and HTTP message signatures' ecdsa-p256-sha256 (RFC 9421 §3.3.4): r and
// s, each 32 bytes big-endian. Neither function allocates.
//
// Only crypto/token and crypto/httpsig import it; it imports nothing.
package ecdsasig

// RawSize is the size of an r‖s signature.
const RawSize = 64

// MaxDERSize is the longest DER encoding of a P-256 signature:
// SEQUENCE{INTEGER(33 bytes), INTEGER(33 bytes)}.
const MaxDERSize = 2 + 2*(2+33)

// AppendDER appends the DER form of the r‖s signature raw to dst. A raw
// of another length than RawSize appends nothing (its DER form does not
// exist; a verification of dst then fails). With cap(dst)-len(dst) of at
// least MaxDERSize it does not allocate.
func AppendDER(dst, raw []byte) []byte {
	if len(raw) != RawSize {
		return dst
	}
	r, s := minimal(raw[:32]), minimal(raw[32:])
	n := 2 + len(r) + 2 + len(s)
	if r[0]&0x80 != 0 {
		n++
	}
	if s[0]&0x80 != 0 {
		n++
	}
	dst = append(dst, 0x30, byte(n))
	dst = appendInt(dst, r)
	return appendInt(dst, s)
}

// minimal strips leading zero bytes, keeping at least one.
func minimal(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// appendInt appends the DER INTEGER of the unsigned big-endian b (minimal):
// a zero byte first when its high bit is set, so that it stays positive.
func appendInt(dst, b []byte) []byte {
	if b[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(b)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(b)))
	}
	return append(dst, b...)
}

// ToRaw writes the DER signature der, as crypto/ecdsa makes it, into raw
// (RawSize bytes) as r‖s, and reports whether der had that form: a
// SEQUENCE of two non-empty INTEGERs of at most 32 significant bytes
// each, in short-form lengths, nothing after (it does not insist on
// minimal encodings: crypto/ecdsa's are). raw is left partly written when it reports
// false.
func ToRaw(raw, der []byte) bool {
	if len(raw) != RawSize || len(der) < 2 || der[0] != 0x30 || der[1] >= 0x80 || int(der[1]) != len(der)-2 {
		return false
	}
	rest := der[2:]
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || rest[1] == 0 || rest[1] >= 0x80 || len(rest) < 2+int(rest[1]) {
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
