// Package proxy is the secrets proxy of PROTOCOL.md §6:
// `ANY /v1/proxy/{api}/{path…}` with an `Attest-Token` header.
//
// For each request it looks the API up by name, verifies the token with the
// keys of the API's account (signature with the algorithm pinned per key,
// exp with a leeway, aud = the account, iss = the deployment's issuer, and
// the binding of pay to the Authorization header, see below), removes
// Attest-Token and the hop-by-hop headers, injects the API's secret as a
// header (set, replacing any the client sent) or a query parameter
// (replacing any the client sent), and forwards method, headers and body to
// the upstream URL with the path appended. The answer streams back
// unchanged but for its hop-by-hop headers and any header that holds the
// API's secret, as injected or percent-encoded (a Location that echoes the
// query, say: see package client/scrub); a redirect that held it loses its
// body too. Every answer body streams through a client/scrub.Masker, which
// replaces each occurrence of the secret's forms (as injected,
// percent-encoded, JSON-escaped: scrub.Forms) by a mask of the same length,
// so that an upstream that echoes the request in a body (an error page that
// repeats the URL, a page that lists the headers) gives nothing away; the
// upstream is asked for Accept-Encoding: identity, a gzip or deflate body is
// decoded (up to Config.MaxDecodedBytes) and passed on decoded, and any
// other Content-Encoding is refused 502 bad_gateway (answer.go; the decoding
// is client/scrub.DecodeBody, which the SDK uses too). An echo in
// a form the masker does not know (base64, another letter case) still
// passes. A request whose path
// could leave the upstream's base path on some server is refused 400
// bad_request (pathrule.go); one whose token does not verify is answered
// 401 token_invalid; in either case nothing of it is forwarded.
//
// Request signatures (PROTOCOL.md §12): for an API with require_signature,
// the token must carry cnf and the request an RFC 9421 signature (label
// att) by that key over what the app sent to the edge (the edge's
// authority, /v1/proxy/{api}/… as sent, the query, the token, the
// Content-Digest), fresh within Config.SignatureWindow and not seen before
// on this node (Config.Replay); the body is read whole, up to
// MaxBodyBytes, and must match its Content-Digest before anything is
// forwarded. A refusal is 401 request_signature_invalid. The att members
// of Signature-Input and Signature never reach an upstream (their keyid is
// the device's id); other signatures pass.
//
// Binding: when the API requires binding, the token must carry pay and the
// request exactly one Authorization header whose b64u(SHA-256) equals it.
// A token that carries pay is, like in package backend, accepted only with
// the matching Authorization header, whether the API requires binding or
// not: a bound token is valid only with the value it is bound to.
//
// Admission: a proxied request takes a place among the node's proxied
// requests in flight (Config.Admit) before anything of it is read, and,
// once its token has verified, one of its device's share of those places
// (Config.AdmitDevice, keyed by the token's aud and did), so that one
// token cannot take them all; a refusal is 503 overloaded or 429
// rate_limited, and nothing is forwarded. Both places are held until the
// upstream's answer header has arrived.
//
// Two adapters share one core: ServeHTTP (net/http, for HTTP/3) and
// Fasthttp (the HTTP/1.1 listener). Both stream request and answer bodies
// (but the request body of an API with require_signature, read whole);
// the request body is capped (Config.MaxBodyBytes, 413 body_too_large).
//
// Secrets are never logged, never put in an error, and never answered: the
// upstream's own errors are logged without the URL (which may carry an
// injected query secret).
//
// Only packages of this module import it. A *Proxy is safe for concurrent
// use.
package proxy
