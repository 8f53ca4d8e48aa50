package proxy

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// splitPath splits the escaped request path /v1/proxy/{api}{rest} into the
// API name (unescaped) and rest, which is "" or begins with '/', and applies
// the path rules (pathrule.go) to rest. The name is the segment right after
// the prefix, exactly: an empty one, or one the rules would refuse, names
// no API (not_found).
func splitPath(escaped string) (name, rest string, err error) {
	s, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return "", "", apierr.ErrNotFound
	}
	enc, after, slash := strings.Cut(s, "/")
	if slash {
		rest = "/" + after
	}
	if enc == "" || checkSegment(enc) != nil {
		return "", "", apierr.ErrNotFound
	}
	if name, err = url.PathUnescape(enc); err != nil {
		return "", "", apierr.ErrNotFound
	}
	if err := checkRest(rest); err != nil {
		return "", "", err
	}
	return name, rest, nil
}

// target is the upstream URL of a request: the upstream's path with rest
// appended (one '/' between them), then the upstream's own query, the
// client's query, and the injected query parameter, if any.
func target(api *registry.API, rest, clientQuery string) (*url.URL, error) {
	up, err := url.Parse(api.Upstream)
	if err != nil {
		// Validated when stored; not a client error.
		return nil, fmt.Errorf("proxy: api %q upstream: %w", api.Name, err)
	}
	u := &url.URL{Scheme: up.Scheme, Host: up.Host}
	escaped := up.EscapedPath()
	if rest != "" {
		escaped = strings.TrimSuffix(escaped, "/") + rest
	}
	if u.Path, err = url.PathUnescape(escaped); err != nil {
		return nil, apierr.Wrap(apierr.ErrBadRequest.WithMessage("malformed path"), err)
	}
	u.RawPath = escaped
	if api.Query != "" {
		clientQuery = withoutParam(clientQuery, api.Query)
	}
	u.RawQuery = joinQuery(up.RawQuery, clientQuery)
	if api.Query != "" {
		u.RawQuery = joinQuery(u.RawQuery, url.QueryEscape(api.Query)+"="+url.QueryEscape(string(api.Secret.Reveal())))
	}
	return u, nil
}

// withoutParam removes every pair named name from a raw query, leaving the
// others as the client encoded them.
func withoutParam(raw, name string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil && dk == name || k == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}
