package recordauth

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Tag layout.
const (
	// TagMember is the member that carries a record's tag, always last.
	TagMember = "_auth"
	// tagVersion opens every tag.
	tagVersion = "a1"
	macSize    = 32
	maxKIDLen  = 32
	maxGenLen  = 19 // digits of math.MaxInt64
	// MaxTagLen bounds a tag: "a1:" KID ":" GEN ":" 43 characters.
	MaxTagLen = len(tagVersion) + 1 + maxKIDLen + 1 + maxGenLen + 1 + 43
	// MaxRecordBytes bounds a stored record (etcd's default value cap,
	// 1.5 MiB): a longer one is refused before its MAC is computed.
	MaxRecordBytes = 3 << 19
	// recordLabel opens the MAC input of a record.
	recordLabel = "attestd record v1\x00"
)

// tagOpen is what precedes the tag string in a stored record.
var tagOpen = []byte(`"` + TagMember + `":`)

var b64u = base64.RawURLEncoding.Strict()

// tag is a parsed tag.
type tag struct {
	kid string
	gen uint64
	mac []byte
}

// split separates a stored value into the body of the record it carries
// (the record is body + "}") and its tag string. ok is false when the value
// does not end with a tag member of the documented shape. It never
// allocates beyond the tag string and reads at most MaxTagLen+10 bytes from
// the end.
func split(v []byte) (body []byte, tagStr string, ok bool) {
	n := len(v)
	if n < 2 || v[n-1] != '}' || v[n-2] != '"' {
		return nil, "", false
	}
	end := n - 2
	i := end
	for i > 0 && end-i < MaxTagLen && isTagChar(v[i-1]) {
		i--
	}
	if i == 0 || v[i-1] != '"' || i == end {
		return nil, "", false
	}
	head, found := bytes.CutSuffix(v[:i-1], tagOpen)
	if !found || len(head) == 0 || head[0] != '{' {
		return nil, "", false
	}
	switch {
	case len(head) == 1: // the record is {}
		return head, string(v[i:end]), true
	case len(head) > 2 && head[len(head)-1] == ',':
		return head[:len(head)-1], string(v[i:end]), true
	}
	return nil, "", false
}

// attach returns the stored form of record rec (a compact JSON object)
// carrying tagStr.
func attach(rec []byte, tagStr string) []byte {
	out := make([]byte, 0, len(rec)+len(tagOpen)+len(tagStr)+4)
	out = append(out, rec[:len(rec)-1]...)
	if len(rec) > 2 {
		out = append(out, ',')
	}
	out = append(out, tagOpen...)
	out = append(out, '"')
	out = append(out, tagStr...)
	return append(out, '"', '}')
}

func isTagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':'
}

func validKID(s string) bool {
	if s == "" || len(s) > maxKIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ':' || !isTagChar(c) {
			return false
		}
	}
	return true
}

// parseTag parses "a1:" KID ":" GEN ":" MAC. GEN is a decimal without
// leading zeros, 1 to MaxInt64; MAC the strict b64u of 32 bytes.
func parseTag(s string) (tag, error) {
	rest, ok := strings.CutPrefix(s, tagVersion+":")
	if !ok {
		return tag{}, fmt.Errorf("tag version is not %s", tagVersion)
	}
	kid, rest, ok1 := strings.Cut(rest, ":")
	gen, mac, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || !validKID(kid) {
		return tag{}, fmt.Errorf("tag is not a1:KID:GEN:MAC")
	}
	g, err := strconv.ParseUint(gen, 10, 63)
	if err != nil || g == 0 || gen[0] == '0' || len(gen) > maxGenLen {
		return tag{}, fmt.Errorf("tag generation is not a positive decimal")
	}
	m, err := b64u.DecodeString(mac)
	if err != nil || len(m) != macSize || strings.ContainsAny(mac, "\r\n") {
		return tag{}, fmt.Errorf("tag MAC is not b64u of %d bytes", macSize)
	}
	return tag{kid: kid, gen: g, mac: m}, nil
}

func formatTag(kid string, gen uint64, mac []byte) string {
	return tagVersion + ":" + kid + ":" + strconv.FormatUint(gen, 10) + ":" + b64u.EncodeToString(mac)
}

// recordMAC computes the MAC of the record body+"}" stored at key, written
// at generation gen, under the record key of master key kid.
func recordMAC(keys Keys, kid, key string, gen uint64, body []byte) ([]byte, error) {
	h, err := keys.RecordMAC(kid)
	if err != nil {
		return nil, err
	}
	writeHeader(h, key, gen)
	h.Write(body)
	h.Write([]byte{'}'})
	return h.Sum(nil), nil
}

func writeHeader(h hash.Hash, key string, gen uint64) {
	var n [8]byte
	h.Write([]byte(recordLabel))
	binary.BigEndian.PutUint64(n[:], uint64(len(key)))
	h.Write(n[:])
	h.Write([]byte(key))
	binary.BigEndian.PutUint64(n[:], gen)
	h.Write(n[:])
}

// checkTag verifies a parsed tag over body at key, in constant time. The
// error wraps the one RecordMAC gave (envelope.ErrUnknownKey for a master
// key not held), or is errBadMAC.
func checkTag(keys Keys, t tag, key string, body []byte) error {
	want, err := recordMAC(keys, t.kid, key, t.gen, body)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, t.mac) {
		return errBadMAC
	}
	return nil
}

// sign returns the tag of record rec (compact JSON object) at key and gen
// under the active master key.
func sign(keys Keys, key string, gen uint64, rec []byte) (string, error) {
	kid := keys.ActiveKeyID()
	mac, err := recordMAC(keys, kid, key, gen, rec[:len(rec)-1])
	if err != nil {
		return "", err
	}
	return formatTag(kid, gen, mac), nil
}
