package androidkey

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Bounds on a status list file. Google's list is well under a megabyte.
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
// Serial numbers are compared as lowercase hexadecimal without leading
// zeros (as math/big's Text(16) writes them): the keys of the file are
// lowercased and stripped of leading zeros when parsed. Every certificate
// the list names is refused, whatever its status: Google lists only revoked
// and suspended certificates, and an unknown status fails closed.
//
// A StatusList is immutable once parsed and safe for concurrent use. A nil
// *StatusList is an empty list.
type StatusList struct {
	entries map[string]StatusEntry
}

// ParseStatusList parses a status list in Google's JSON format. Unknown
// members are ignored. An error wraps ErrMalformed.
func ParseStatusList(b []byte) (*StatusList, error) {
	if len(b) > MaxStatusListSize {
		return nil, fmt.Errorf("%w: status list is %d bytes, at most %d", ErrMalformed, len(b), MaxStatusListSize)
	}
	var doc struct {
		Entries map[string]StatusEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: status list: %w", ErrMalformed, err)
	}
	if doc.Entries == nil {
		return nil, fmt.Errorf("%w: status list has no \"entries\" object", ErrMalformed)
	}
	if len(doc.Entries) > MaxStatusListEntries {
		return nil, fmt.Errorf("%w: status list has %d entries, at most %d", ErrMalformed, len(doc.Entries), MaxStatusListEntries)
	}
	l := &StatusList{entries: make(map[string]StatusEntry, len(doc.Entries))}
	for k, e := range doc.Entries {
		serial, ok := normalizeSerial(k)
		if !ok {
			return nil, fmt.Errorf("%w: status list: serial %q is not hexadecimal", ErrMalformed, k)
		}
		l.entries[serial] = e
	}
	return l, nil
}

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
	e, ok := l.entries[serial.Text(16)]
	return e, ok
}

// normalizeSerial lowercases a hexadecimal serial and strips leading zeros.
func normalizeSerial(s string) (string, bool) {
	if s == "" || len(s) > 128 {
		return "", false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	s = strings.TrimLeft(strings.ToLower(s), "0")
	if s == "" {
		s = "0"
	}
	return s, true
}
