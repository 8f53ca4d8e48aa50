package api

import "context"

// Admission before the body.
//
// Serve admits a request (Limits.AdmitRequest) first thing. The fasthttp
// adapter reads a body before calling Serve, under its connection's read
// timeout, and holds nothing of the node's but a connection meanwhile. An
// HTTP/3 request holds a stream, a goroutine and a buffer while its body
// arrives, so that adapter admits each request itself before reading its
// body, with Admit: the requests in flight then count the bodies being
// received, and the bound on them sheds past it. It serves through the
// Handler AdmittedFirst returns, whose Serve does not admit again.

// Admit takes a place among the requests in flight for a request to path,
// before its body is read. When Limits refuses, resp holds the answer
// (overloaded, with Retry-After), the Observer has seen it, and ok is
// false. Otherwise the caller calls release once, when the request is
// answered. Without Limits every request is admitted.
func (h *Handler) Admit(ctx context.Context, path []byte, resp *Response) (release func(), ok bool) {
	if h.cfg.Limits == nil {
		return nop, true
	}
	start := since()
	release, err := h.cfg.Limits.AdmitRequest()
	if err != nil {
		resp.Endpoint = endpointOf(path)
		h.fail(ctx, resp, err)
		h.observe(resp, start)
		return nil, false
	}
	return release, true
}

// AdmittedFirst returns a Handler with h's configuration whose Serve does
// not admit: for a transport that admits each request with h.Admit before
// reading its body. Every other limit (the challenge rate per client IP)
// applies as in h. Build it once, beside h.
func (h *Handler) AdmittedFirst() *Handler {
	cfg := h.cfg
	if cfg.Limits != nil {
		cfg.Limits = admitted{cfg.Limits}
	}
	return New(cfg)
}

// admitted is a Limits whose AdmitRequest admits without counting: the
// request was admitted before (Admit).
type admitted struct{ Limits }

func (admitted) AdmitRequest() (func(), error) { return nop, nil }

func nop() {}
