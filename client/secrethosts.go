package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// origin is one entry of TransportConfig.SecretHosts: a scheme, a lower-case
// host name (IPv6 without brackets) and, when given, a port.
type origin struct {
	scheme, host, port string
}

// parseOrigin reads "host" (https, any port), "host:port" (https), or an
// origin "https://host[:port]" or "http://host[:port]" (that scheme, that
// port or the scheme's own; nothing but the origin).
func parseOrigin(s string) (origin, error) {
	o := origin{scheme: "https"}
	hostport := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		u, err := url.Parse(s)
		if err != nil || (scheme != "https" && scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return o, fmt.Errorf("client: SecretHosts entry %q: want host, host:port or an http(s) origin", s)
		}
		o.scheme, hostport = scheme, rest
		hostport = strings.TrimSuffix(hostport, "/")
	}
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		o.host, o.port = h, p
	} else {
		o.host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	if o.port == "" && hostport != s {
		o.port = defaultPort[o.scheme] // an origin: its scheme's port
	}
	o.host = strings.ToLower(o.host)
	if o.host == "" || strings.ContainsAny(o.host, "/?#@ *") {
		return o, fmt.Errorf("client: SecretHosts entry %q: want host, host:port or an http(s) origin (no wildcards)", s)
	}
	return o, nil
}

// matches reports whether u is on o: same scheme, same host, and the same
// port when o names one (an absent port in u is its scheme's default).
func (o origin) matches(u *url.URL) bool {
	if u.Scheme != o.scheme || strings.ToLower(u.Hostname()) != o.host {
		return false
	}
	if o.port == "" {
		return true
	}
	port := u.Port()
	if port == "" {
		port = defaultPort[u.Scheme]
	}
	return port == o.port
}

var defaultPort = map[string]string{"https": "443", "http": "80"}

// secretHosts is TransportConfig.SecretHosts, parsed.
type secretHosts map[string][]origin

func parseSecretHosts(m map[string][]string) (secretHosts, error) {
	out := make(secretHosts, len(m))
	for name, list := range m {
		if name == "" {
			return nil, errors.New("client: SecretHosts: empty secret name")
		}
		for _, s := range list {
			o, err := parseOrigin(s)
			if err != nil {
				return nil, err
			}
			out[name] = append(out[name], o)
		}
		if out[name] == nil {
			out[name] = []origin{} // listed with no host: filled nowhere
		}
	}
	return out, nil
}

// allowed reports whether a placeholder of the secret name may be filled
// in a request to u: u is one of the secret's SecretHosts when it has
// some, else an https URL of a host the pins in force name (any port).
func (t *Transport) allowed(name string, u *url.URL) bool {
	if list, ok := t.secretHosts[name]; ok {
		for _, o := range list {
			if o.matches(u) {
				return true
			}
		}
		return false
	}
	return u.Scheme == "https" && t.pins.pinned(u.Hostname())
}

// lookupFor returns the placeholder lookup for a request to u: the secret
// must be allowed for u (ErrSecretNotAllowed), then released
// (ErrSecretUnavailable).
func (t *Transport) lookupFor(u *url.URL) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if !t.allowed(name, u) {
			return nil, fmt.Errorf("%w: secret %q, host %s", ErrSecretNotAllowed, name, u.Host)
		}
		v, ok := (*t.secrets.Load())[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrSecretUnavailable, name)
		}
		return v.Reveal(), nil
	}
}
