package httpsig

import (
	"net/http"
	"strconv"
	"strings"
)

// Message is what a signature base is built from: a request or a
// response as the signer sent it (or the verifier understands it).
type Message interface {
	// AppendComponent appends to dst the value of the component id
	// (RFC 9421 §2) and reports whether the message has it. id is a
	// derived component ("@method", "@authority", "@path", "@query",
	// "@status", …) or a field name in lower case, whose value is every
	// field line's value trimmed of SP and HTAB, joined by ", " (§2.1).
	// A derived component the message does not know, or a field it does
	// not have, is false. id is only read during the call.
	AppendComponent(dst, id []byte) ([]byte, bool)
}

// Request is a Message over an HTTP request whose parts are known: the
// view the client signs and the edge and backends verify. Build it with
// ClientRequest or ServerRequest, or fill it in. The zero value is a
// request without method, authority or fields.
type Request struct {
	Method    string
	Authority string // @authority: host[:port], lower case, without the scheme's default port
	Path      string // @path: the path as sent, percent-encoding kept; "" is "/"
	Query     string // the query as sent, without '?'; "" when it has none
	Header    http.Header
}

// AppendComponent implements Message: @method, @authority, @path, @query
// (RFC 9421 §2.2: "?" and the query, just "?" when there is none), and the
// fields of Header.
func (r *Request) AppendComponent(dst, id []byte) ([]byte, bool) {
	switch string(id) {
	case "@method":
		return append(dst, r.Method...), true
	case "@authority":
		return append(dst, r.Authority...), true
	case "@path":
		if r.Path == "" {
			return append(dst, '/'), true
		}
		return append(dst, r.Path...), true
	case "@query":
		dst = append(dst, '?')
		return append(dst, r.Query...), true
	}
	if len(id) > 0 && id[0] == '@' {
		return dst, false
	}
	return AppendHeader(dst, r.Header, id)
}

// HasQuery reports whether the request has a query (docs/protocol.md §10: then
// @query must be covered).
func (r *Request) HasQuery() bool { return r.Query != "" }

// ClientRequest is the view of req as net/http's client sends it: its
// method, the authority of req.Host (or req.URL.Host) for req.URL's scheme,
// the path and query of req.URL.RequestURI, and req.Header. It allocates.
func ClientRequest(req *http.Request) Request {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	path, query, _ := strings.Cut(req.URL.RequestURI(), "?")
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return Request{Method: method, Authority: Authority(host, req.URL.Scheme), Path: path, Query: query, Header: req.Header}
}

// ServerRequest is the view of r as a net/http server received it: its
// method, the path as sent (its request target when that is origin-form,
// as net/http and quic-go's http3 keep it), its raw query, its header, and
// @authority authority when that is not empty (a server behind a TLS
// terminator or a proxy that rewrites Host gives its external authority),
// else r.Host normalised for https when r.TLS is set, http otherwise.
func ServerRequest(r *http.Request, authority string) Request {
	if authority == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		authority = Authority(r.Host, scheme)
	}
	var path string
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ = strings.Cut(r.RequestURI, "?")
	} else {
		path = r.URL.EscapedPath()
	}
	return Request{Method: r.Method, Authority: authority, Path: path, Query: r.URL.RawQuery, Header: r.Header}
}

// Authority normalises host (host or host:port, as in a Host header or a
// URL) as RFC 9421 §2.2.3 asks: lower case, without the default port of
// scheme ("http" 80, "https" 443; other schemes keep any port). It does not
// allocate when host is already normal.
func Authority(host, scheme string) string {
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			host = strings.ToLower(host)
			break
		}
	}
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return host[:len(host)-4]
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return host[:len(host)-3]
	}
	return host
}

// AppendHeader appends the value of the field name (lower case) in h, as
// AppendComponent defines it, and reports whether h has it. Keys of h are
// matched without regard to case; a field under two keys that differ only
// in case is refused (false), since their order is unknown.
func AppendHeader(dst []byte, h http.Header, name []byte) ([]byte, bool) {
	var vals []string
	found := false
	for k, vs := range h {
		if len(k) != len(name) || !equalFoldLower(k, name) {
			continue
		}
		if found {
			return dst, false
		}
		vals, found = vs, true
	}
	if !found || len(vals) == 0 {
		return dst, false
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, trimOWS(v)...)
	}
	return dst, true
}

// AppendFieldLines appends lines (a field's lines, as fasthttp's PeekAll
// gives them) trimmed and joined as AppendComponent defines it.
func AppendFieldLines(dst []byte, lines [][]byte) []byte {
	for i, v := range lines {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, trimOWSBytes(v)...)
	}
	return dst
}

// equalFoldLower reports whether k equals lower, which is lower case,
// without regard to ASCII case.
func equalFoldLower(k string, lower []byte) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func trimOWSBytes(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// Response is a Message over an HTTP response: @status and its fields
// (for RFC 9421's examples, which sign responses; docs/protocol.md §10 signs
// requests only).
type Response struct {
	Status int
	Header http.Header
}

// AppendComponent implements Message: @status and the fields of Header.
func (r *Response) AppendComponent(dst, id []byte) ([]byte, bool) {
	if string(id) == "@status" {
		return strconv.AppendInt(dst, int64(r.Status), 10), true
	}
	if len(id) > 0 && id[0] == '@' {
		return dst, false
	}
	return AppendHeader(dst, r.Header, id)
}

// RemoveMember returns the dictionary field value without its member
// label (what a proxy does to a signature it consumed), and whether it
// held one: the other members are kept as they were written, joined by
// ", ". A value that is not a well-formed dictionary is returned as it is,
// with false.
func RemoveMember(field, label string) (string, bool) {
	b := []byte(field)
	var d dictionary
	if parseDictionary(b, &d) != nil {
		return field, false
	}
	if _, ok := d.lookup(b, label); !ok {
		return field, false
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < d.n; i++ {
		m := &d.m[i]
		if string(m.key.of(b)) == label {
			continue
		}
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = append(out, m.full.of(b)...)
	}
	return string(out), true
}
