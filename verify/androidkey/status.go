package androidkey

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Bounds on a status list file. Google's list is well under a megabyte.
// The entry count is checked while the list is decoded, before each entry.
const (
	MaxStatusListSize    = 16 << 20
	MaxStatusListEntries = 1 << 20
)

// StatusEntry is one certificate's entry in the status list.
type StatusEntry struct {
	Status string `json:"status"` // "REVOKED" or "SUSPENDED" in Google's list
	Reason string `json:"reason"` // e.g. "KEY_COMPROMISE"; informative only
}

// StatusList is Google's attestation certificate status list
// (https://android.googleapis.com/attestation/status):
//
//	{"entries": {"<serial hex>": {"status": "REVOKED"|"SUSPENDED", "reason": "..."}}}
//
// A certificate is identified by its serial number alone, as Google's list
// does (it names no issuer): the keys of the file are hexadecimal, compared
// as the big-endian bytes they spell without leading zeros, whatever their
// case or leading zeros. Every certificate the list names is refused,
// whatever its status: Google lists only revoked and suspended
// certificates, and an unknown status fails closed.
//
// A StatusList is immutable once parsed and safe for concurrent use. A nil
// *StatusList is an empty list.
type StatusList struct {
	// entries by serial: big-endian bytes without leading zeros, as a
	// string (so that a lookup from bytes allocates nothing).
	entries map[string]StatusEntry
}

// StatusRevoked is the status Google's list gives a revoked certificate
// (SUSPENDED is the other).
const StatusRevoked = "REVOKED"

// ParseStatusList parses a status list in Google's JSON format. Unknown
// members are ignored; member names match as encoding/json matches them
// (any letter case). An error wraps ErrMalformed.
//
// The list is decoded one entry at a time, and the entry count is checked
// before each entry is decoded: a list never holds more than
// MaxStatusListEntries entries in memory, however many it names. A serial
// named twice (in any spelling) keeps REVOKED if either entry has it.
func ParseStatusList(b []byte) (*StatusList, error) {
	return parseStatusList(b, MaxStatusListEntries)
}

func parseStatusList(b []byte, maxEntries int) (*StatusList, error) {
	if len(b) > MaxStatusListSize {
		return nil, fmt.Errorf("%w: status list is %d bytes, at most %d", ErrMalformed, len(b), MaxStatusListSize)
	}
	p := statusParser{dec: json.NewDecoder(bytes.NewReader(b)), max: maxEntries,
		list: &StatusList{entries: map[string]StatusEntry{}}}
	if err := p.document(); err != nil {
		return nil, fmt.Errorf("%w: status list: %w", ErrMalformed, err)
	}
	return p.list, nil
}

// statusParser decodes a status list token by token.
type statusParser struct {
	dec     *json.Decoder
	max, n  int // the bound on entries, and the entries decoded so far
	entries bool
	list    *StatusList
}

// document reads the top-level object and nothing after it.
func (p *statusParser) document() error {
	if err := p.delim('{'); err != nil {
		return err
	}
	for p.dec.More() {
		name, err := p.name()
		if err != nil {
			return err
		}
		if !strings.EqualFold(name, "entries") {
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if err := p.entriesObject(); err != nil {
			return err
		}
	}
	if err := p.delim('}'); err != nil {
		return err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return errors.New("data after the top-level object")
	}
	if !p.entries {
		return errors.New(`no "entries" object`)
	}
	return nil
}

// entriesObject reads the "entries" object, counting each entry before
// decoding it.
func (p *statusParser) entriesObject() error {
	if err := p.delim('{'); err != nil {
		return fmt.Errorf(`"entries": %w`, err)
	}
	p.entries = true
	for p.dec.More() {
		if p.n++; p.n > p.max {
			return fmt.Errorf("more than %d entries", p.max)
		}
		k, err := p.name()
		if err != nil {
			return err
		}
		serial, ok := serialBytes(k)
		if !ok {
			return fmt.Errorf("serial %.130q is not hexadecimal", k)
		}
		var e StatusEntry
		if err := p.dec.Decode(&e); err != nil {
			return fmt.Errorf("entry %q: %w", k, err)
		}
		if prev, dup := p.list.entries[serial]; dup && isRevoked(prev) {
			continue // "0a" and "a" name one certificate: REVOKED wins
		}
		p.list.entries[serial] = e
	}
	return p.delim('}')
}

// delim reads the delimiter want.
func (p *statusParser) delim(want json.Delim) error {
	t, err := p.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %s", want, tokenKind(t))
	}
	return nil
}

// name reads an object member's name.
func (p *statusParser) name() (string, error) {
	t, err := p.dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("member name is %s", tokenKind(t))
	}
	return s, nil
}

// tokenKind names what t is, without its content (an error never quotes
// the list).
func tokenKind(t json.Token) string {
	switch t := t.(type) {
	case json.Delim:
		return strconv.Quote(string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("a %T", t)
	}
}

func isRevoked(e StatusEntry) bool { return strings.EqualFold(e.Status, StatusRevoked) }

// Len is the number of certificates the list names.
func (l *StatusList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Lookup returns the entry of the certificate with the given serial number.
func (l *StatusList) Lookup(serial *big.Int) (StatusEntry, bool) {
	if l == nil || serial == nil || serial.Sign() < 0 {
		return StatusEntry{}, false
	}
	return l.LookupBytes(serial.Bytes())
}

// LookupBytes returns the entry of the certificate whose serial number is
// the big-endian bytes serial (leading zero bytes are ignored). It does not
// allocate.
func (l *StatusList) LookupBytes(serial []byte) (StatusEntry, bool) {
	if l == nil {
		return StatusEntry{}, false
	}
	for len(serial) > 0 && serial[0] == 0 {
		serial = serial[1:]
	}
	e, ok := l.entries[string(serial)]
	return e, ok
}

// LookupSerial is LookupBytes for a serial's bytes held in a string (as a
// receipt's Serials yields them). It does not allocate.
func (l *StatusList) LookupSerial(serial string) (StatusEntry, bool) {
	if l == nil {
		return StatusEntry{}, false
	}
	for len(serial) > 0 && serial[0] == 0 {
		serial = serial[1:]
	}
	e, ok := l.entries[serial]
	return e, ok
}

// Unrevoked compares l with the list it replaces, prev: it returns the
// serials (lowercase hexadecimal, sorted) that prev lists as REVOKED and l
// no longer does (removed, or given another status), and how many prev
// lists as REVOKED. Google un-revokes rarely: a caller logs the first and
// may refuse a list that un-revokes most of prev.
func (l *StatusList) Unrevoked(prev *StatusList) (serials []string, prevRevoked int) {
	if prev == nil {
		return nil, 0
	}
	for k, e := range prev.entries {
		if !isRevoked(e) {
			continue
		}
		prevRevoked++
		if now, ok := l.LookupBytes([]byte(k)); !ok || !isRevoked(now) {
			serials = append(serials, serialHex(k))
		}
	}
	sort.Strings(serials)
	return serials, prevRevoked
}

// serialHex writes a serial's bytes as Google's list does: lowercase
// hexadecimal without leading zeros ("0" for zero).
func serialHex(b string) string {
	s := strings.TrimLeft(hex.EncodeToString([]byte(b)), "0")
	if s == "" {
		return "0"
	}
	return s
}

// serialBytes reads a hexadecimal serial of at most 128 digits, any case,
// leading zeros allowed, as big-endian bytes without leading zeros.
func serialBytes(s string) (string, bool) {
	if s == "" || len(s) > 128 {
		return "", false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	s = strings.TrimLeft(s, "0")
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(b), true
}
