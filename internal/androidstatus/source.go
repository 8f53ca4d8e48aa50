package androidstatus

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrSource is wrapped by the errors of ParseSource.
var ErrSource = errors.New("androidstatus: bad source")

// Source is where the status list comes from: a file, or a URL.
type Source struct {
	File string   // a file path, when URL is nil
	URL  *url.URL // an https:// URL, or http:// on a loopback IP address
}

// IsURL reports whether the source is fetched over HTTP.
func (s Source) IsURL() bool { return s.URL != nil }

// String is the file path or the URL.
func (s Source) String() string {
	if s.URL != nil {
		return s.URL.String()
	}
	return s.File
}

// ParseSource reads --android-status: a value that starts with a scheme
// ("name://") is a URL, and must be https://, or http:// to a loopback IP
// literal (127.0.0.0/8, [::1]: the list would otherwise travel in the
// clear, for anyone on the path to rewrite), with a host, without user
// information or a fragment; anything else is a file path.
func ParseSource(v string) (Source, error) {
	if v == "" {
		return Source{}, fmt.Errorf("%w: empty", ErrSource)
	}
	scheme, _, isURL := strings.Cut(v, "://")
	if !isURL || strings.ContainsAny(scheme, "/\\.") {
		return Source{File: v}, nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return Source{}, fmt.Errorf("%w: %q: %v", ErrSource, v, err)
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return Source{}, fmt.Errorf("%w: %q has no host", ErrSource, v)
	case u.User != nil:
		return Source{}, fmt.Errorf("%w: %q: user information is not allowed", ErrSource, u.Redacted())
	case u.Fragment != "" || u.RawFragment != "":
		return Source{}, fmt.Errorf("%w: %q: a fragment is not allowed", ErrSource, v)
	case u.Scheme == "https":
		return Source{URL: u}, nil
	case u.Scheme == "http":
		if !loopback(u.Hostname()) {
			return Source{}, fmt.Errorf("%w: %q: http:// only to a loopback IP address (127.0.0.1, [::1]); use https://", ErrSource, v)
		}
		return Source{URL: u}, nil
	}
	return Source{}, fmt.Errorf("%w: %q: the scheme must be https (or http to a loopback address)", ErrSource, v)
}

// loopback reports whether host is a loopback IP literal.
func loopback(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}
