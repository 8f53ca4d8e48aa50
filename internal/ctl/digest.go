package ctl

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// maxDigestArg bounds a digest argument before it is looked at.
const maxDigestArg = 256

// errDigest words every digest refusal.
var errDigest = errors.New("not a 32-byte digest: want b64u (43 characters, as in a bundle), base64, or hex (64 digits, colons allowed)")

// ParseDigest reads a 32-byte digest (a signer's SHA-256, a code digest)
// given on the command line in any of the forms the tools print: b64u (what
// bundles hold), standard base64 with or without padding, or hex with or
// without colons or spaces (keytool, apksigner, sha256sum). It returns the
// b64u form.
func ParseDigest(s string) (string, error) {
	if len(s) > maxDigestArg {
		return "", fmt.Errorf("longer than %d characters: %w", maxDigestArg, errDigest)
	}
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) == 32 {
			return base64.RawURLEncoding.EncodeToString(b), nil
		}
	}
	h := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(h) == 64 {
		if b, err := hex.DecodeString(h); err == nil {
			return base64.RawURLEncoding.EncodeToString(b), nil
		}
	}
	return "", errDigest
}

// digestFlag is a flag holding digests in b64u: one (the last given) or,
// with many set, every one given (comma-separated lists and repeats
// alike).
type digestFlag struct {
	many bool
	vals []string
}

func (d *digestFlag) String() string { return strings.Join(d.vals, ",") }

func (d *digestFlag) Set(s string) error {
	if !d.many {
		v, err := ParseDigest(s)
		if err != nil {
			return err
		}
		d.vals = []string{v}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		v, err := ParseDigest(part)
		if err != nil {
			return err
		}
		d.vals = append(d.vals, v)
	}
	return nil
}

// value is the one digest given, or "".
func (d *digestFlag) value() string {
	if len(d.vals) == 0 {
		return ""
	}
	return d.vals[len(d.vals)-1]
}
