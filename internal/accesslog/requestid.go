package accesslog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync/atomic"
)

// Every request of the public listeners gets an id of the node's own,
// answered as X-Request-Id and logged as request_id with every line about
// the request. An id a client sends never replaces it (PROTOCOL.md §8,
// 1.1: a client could otherwise make its lines collide with another
// client's): it is logged beside it as client_request_id, cut to
// maxClientIDLen bytes and with any byte outside clientIDSafe made '_'.

// requestIDKey keys the request's *requestID in its context (a
// context.Context value for HTTP/3; a fasthttp user value for HTTP/1.1,
// which fasthttp's RequestCtx.Value also returns).
type requestIDKey struct{}

// Header carries the node's request id in every answer; in a request, the
// client's own id.
const Header = "X-Request-Id"

// requestIDs makes request ids: a random per-process prefix and a counter,
// unique across nodes and cheap on the hot path.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

const (
	// maxRequestIDLen holds the prefix (13) and a base-36 uint64 (13).
	maxRequestIDLen = 32
	// maxClientIDLen bounds the client's id kept for the logs.
	maxClientIDLen = 64
)

// requestID is a request's ids, kept by pointer (a fasthttp user value
// costs no more allocation) and made strings only when a line is logged.
type requestID struct {
	own    [maxRequestIDLen]byte
	client [maxClientIDLen]byte
	n, cn  uint8
}

func (id *requestID) bytes() []byte { return id.own[:id.n] }

// clientBytes is the client's sanitised id, empty when it sent none.
func (id *requestID) clientBytes() []byte { return id.client[:id.cn] }

// set gives id a new id of the node's own, and keeps incoming, the
// client's X-Request-Id, as its client id.
func (g *requestIDs) set(id *requestID, incoming []byte) {
	b := append(id.own[:0], g.prefix...)
	b = strconv.AppendUint(b, g.n.Add(1), 36)
	id.n = uint8(len(b))
	id.cn = uint8(sanitizeClientID(id.client[:], incoming))
}

// sanitizeClientID copies at most len(dst) bytes of in into dst, each byte
// outside clientIDSafe made '_', and returns the count.
func sanitizeClientID(dst, in []byte) int {
	n := copy(dst, in)
	for i, c := range dst[:n] {
		if !clientIDSafe(c) {
			dst[i] = '_'
		}
	}
	return n
}

// clientIDSafe: letters, digits and "-_.:/+=", enough for UUIDs, a load
// balancer's trace ids and base64; nothing that quotes or breaks a line.
func clientIDSafe(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', ':', '/', '+', '=':
		return true
	}
	return false
}

// IDFrom returns the node's request id of ctx (a context a wrapper of
// this package handed a handler), "" if none.
func IDFrom(ctx context.Context) string {
	own, _ := IDsFrom(ctx)
	return own
}

// IDsFrom returns the node's request id of ctx and the client's (as
// logged: sanitised and bounded), "" for none.
func IDsFrom(ctx context.Context) (own, client string) {
	if ctx == nil {
		return "", ""
	}
	if id, ok := ctx.Value(requestIDKey{}).(*requestID); ok {
		return string(id.bytes()), string(id.clientBytes())
	}
	return "", ""
}

// LogHandler returns a slog.Handler that adds the request ids of the
// context a record is logged with (Logger.InfoContext and friends) to
// every record h handles: request_id, and client_request_id when the
// client sent one. A record logged without a request's context is
// handled as h would.
func LogHandler(h slog.Handler) slog.Handler { return withRequestID{h} }

type withRequestID struct{ slog.Handler }

func (h withRequestID) Handle(ctx context.Context, r slog.Record) error {
	own, client := IDsFrom(ctx)
	if own != "" {
		r.AddAttrs(slog.String("request_id", own))
	}
	if client != "" {
		r.AddAttrs(slog.String("client_request_id", client))
	}
	return h.Handler.Handle(ctx, r)
}

func (h withRequestID) WithAttrs(as []slog.Attr) slog.Handler {
	return withRequestID{h.Handler.WithAttrs(as)}
}

func (h withRequestID) WithGroup(name string) slog.Handler {
	return withRequestID{h.Handler.WithGroup(name)}
}
