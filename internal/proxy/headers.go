package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
)

// TokenHeader carries the attestation token; it never reaches the upstream.
const TokenHeader = "Attest-Token"

// hopByHop are the headers of one connection, never forwarded
// (RFC 9110 §7.6.1, with Proxy-Connection and the proxy authentication
// pair that address this hop).
var hopByHop = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization",
}

// removeHopByHop deletes the hop-by-hop headers of h, those named in its
// Connection header included.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		delete(h, name)
	}
}

// copyHeader adds every value of src to dst, except hop-by-hop headers.
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append(dst[k], vs...)
	}
	removeHopByHop(dst)
}
