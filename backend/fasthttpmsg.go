package backend

import (
	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/httpsig"
)

// fasthttpRequest is the httpsig.RequestMessage of a fasthttp request: the
// method, the path and query as sent, the authority (authority when set,
// else Host without the default port of the scheme the server sees), and
// the header's fields. It reads ctx only during the verification.
type fasthttpRequest struct {
	ctx       *fasthttp.RequestCtx
	authority string
}

func (m *fasthttpRequest) HasQuery() bool { return len(m.ctx.URI().QueryString()) > 0 }

func (m *fasthttpRequest) AppendComponent(dst, id []byte) ([]byte, bool) {
	switch string(id) {
	case "@method":
		return append(dst, m.ctx.Method()...), true
	case "@authority":
		if m.authority != "" {
			return append(dst, m.authority...), true
		}
		return appendAuthority(dst, m.ctx.Host(), m.ctx.IsTLS()), true
	case "@path":
		p := m.ctx.URI().PathOriginal()
		if len(p) == 0 {
			return append(dst, '/'), true
		}
		return append(dst, p...), true
	case "@query":
		dst = append(dst, '?')
		return append(dst, m.ctx.URI().QueryString()...), true
	}
	if len(id) == 0 || id[0] == '@' {
		return dst, false
	}
	lines := m.ctx.Request.Header.PeekAll(string(id))
	if len(lines) == 0 {
		return dst, false
	}
	return httpsig.AppendFieldLines(dst, lines), true
}

// appendAuthority appends host lower-cased, without ":443" when tls, or
// ":80" when not (httpsig.Authority without allocating).
func appendAuthority(dst, host []byte, tls bool) []byte {
	switch n := len(host); {
	case tls && n > 4 && string(host[n-4:]) == ":443":
		host = host[:n-4]
	case !tls && n > 3 && string(host[n-3:]) == ":80":
		host = host[:n-3]
	}
	for _, c := range host {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
