package client

import (
	"fmt"
	"net/url"
	"strings"
)

// Secret placeholders. An app ships `{{secret:NAME}}` where a released
// runtime secret goes, in a header value or a query parameter value (as
// written, or URL-encoded as url.Values encodes it); the Transport replaces
// it with the value of the secret NAME released to the app by its latest
// attestation, in a request to a host the secret is allowed for
// (TransportConfig.SecretHosts) and that follows no redirect. NAME is
// everything up to the closing `}}`.
const (
	PlaceholderOpen  = "{{secret:"
	PlaceholderClose = "}}"
)

// Placeholder returns the placeholder of the secret name.
func Placeholder(name string) string { return PlaceholderOpen + name + PlaceholderClose }

// expand replaces every placeholder of s with lookup's value; lookup's
// error (the secret is not allowed there, or not released) is expand's.
func expand(s string, lookup func(name string) ([]byte, error)) (string, error) {
	if !strings.Contains(s, PlaceholderOpen) {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, PlaceholderOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i+len(PlaceholderOpen):], PlaceholderClose)
		if j < 0 {
			return "", fmt.Errorf("client: unterminated secret placeholder")
		}
		name := s[i+len(PlaceholderOpen) : i+len(PlaceholderOpen)+j]
		v, err := lookup(name)
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.Write(v)
		s = s[i+len(PlaceholderOpen)+j+len(PlaceholderClose):]
	}
}

// hasPlaceholder reports whether a header or the raw query holds one.
func hasPlaceholder(h map[string][]string, rawQuery string) bool {
	for _, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, PlaceholderOpen) {
				return true
			}
		}
	}
	if strings.Contains(rawQuery, PlaceholderOpen) {
		return true
	}
	u, err := url.QueryUnescape(rawQuery)
	return err == nil && strings.Contains(u, PlaceholderOpen)
}

// expandQuery replaces placeholders in the values of a raw query, keeping
// the other pairs as they were encoded.
func expandQuery(raw string, lookup func(name string) ([]byte, error)) (string, error) {
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		k, v, hasV := strings.Cut(pair, "=")
		if !hasV {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil || !strings.Contains(dv, PlaceholderOpen) {
			continue
		}
		ev, err := expand(dv, lookup)
		if err != nil {
			return "", err
		}
		pairs[i] = k + "=" + url.QueryEscape(ev)
	}
	return strings.Join(pairs, "&"), nil
}
