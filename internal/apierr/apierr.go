// Package apierr is the one place where internal errors become the public
// error codes of PROTOCOL.md: every adapter (HTTP/1.1, HTTP/3, proxy) answers
// a failure with From(err) and writes its Status, Code and Message.
//
// Inside the edge, errors are rich and wrapped (`fmt.Errorf("attest: nonce:
// %w", err)`); they are classified here by errors.Is against the Err*
// sentinels below, which the core wraps around its causes. Anything not
// classified is an internal error whose message never shows the cause.
//
// Only packages of this module import it.
package apierr

import (
	"errors"
	"net/http"
	"strconv"
)

// Code is a public error code of PROTOCOL.md.
type Code string

// The public error codes of PROTOCOL.md, and `internal` for the rest.
const (
	BadRequest           Code = "bad_request"
	UnsupportedMediaType Code = "unsupported_media_type"
	BodyTooLarge         Code = "body_too_large"
	NonceInvalid         Code = "nonce_invalid"
	NonceExpired         Code = "nonce_expired"
	NonceReplayed        Code = "nonce_replayed"
	SignatureInvalid     Code = "signature_invalid"
	TokenInvalid         Code = "token_invalid"
	// RequestSignatureInvalid (1.1, §12): the request signature is missing,
	// malformed, stale, replayed or not by the token's cnf key.
	RequestSignatureInvalid Code = "request_signature_invalid"
	NotFound                Code = "not_found"
	MethodNotAllowed        Code = "method_not_allowed"
	RateLimited             Code = "rate_limited"
	Overloaded              Code = "overloaded"
	BadGateway              Code = "bad_gateway"
	Internal                Code = "internal"
)

// Sentinels the core wraps around causes to classify them. Their text is
// the public message; the cause stays inside.
var (
	ErrBadRequest       = &Error{Status: 400, Code: BadRequest, Message: "malformed request"}
	ErrMediaType        = &Error{Status: 415, Code: UnsupportedMediaType, Message: "the body must be application/json"}
	ErrBodyTooLarge     = &Error{Status: 413, Code: BodyTooLarge, Message: "the body is over 64 KiB"}
	ErrNonceInvalid     = &Error{Status: 401, Code: NonceInvalid, Message: "the nonce was not issued by this deployment"}
	ErrNonceExpired     = &Error{Status: 401, Code: NonceExpired, Message: "the nonce has expired"}
	ErrNonceReplayed    = &Error{Status: 401, Code: NonceReplayed, Message: "the nonce was already used"}
	ErrSignatureInvalid = &Error{Status: 401, Code: SignatureInvalid, Message: "Attest-Signature is missing, malformed or not valid for device.key"}
	ErrTokenInvalid     = &Error{Status: 401, Code: TokenInvalid, Message: "the token is missing, malformed, expired or badly signed"}
	// ErrRequestSignatureInvalid is §12's refusal of a request signature.
	ErrRequestSignatureInvalid = &Error{Status: 401, Code: RequestSignatureInvalid, Message: "the request signature is missing, malformed, stale, replayed or not by the token's key"}
	ErrNotFound                = &Error{Status: 404, Code: NotFound, Message: "not found"}
	ErrMethodNotAllowed        = &Error{Status: 405, Code: MethodNotAllowed, Message: "method not allowed"}
	ErrRateLimited             = &Error{Status: 429, Code: RateLimited, Message: "too many requests", RetryAfter: 1}
	ErrOverloaded              = &Error{Status: 503, Code: Overloaded, Message: "the edge is overloaded or draining", RetryAfter: 1}
	ErrBadGateway              = &Error{Status: 502, Code: BadGateway, Message: "the upstream could not be reached"}
	ErrInternal                = &Error{Status: 500, Code: Internal, Message: "internal error"}
)

// NumCodes is the number of public error codes (Internal included): the
// length of Errors.
const NumCodes = 15

// table is every public error, one per code: the sentinels above, in the
// order Errors and Code.Index give. A new code gets its sentinel above and
// its place here (TestEverySentinelInTable finds one left out); the
// metrics' fixed series follow from it.
var table = [NumCodes]*Error{
	ErrBadRequest, ErrMediaType, ErrBodyTooLarge,
	ErrNonceInvalid, ErrNonceExpired, ErrNonceReplayed,
	ErrSignatureInvalid, ErrTokenInvalid, ErrRequestSignatureInvalid,
	ErrNotFound, ErrMethodNotAllowed, ErrRateLimited,
	ErrOverloaded, ErrBadGateway, ErrInternal,
}

// Errors returns every public error apierr answers with, one per code, in
// a fixed order (a copy: the table cannot be changed through it).
func Errors() [NumCodes]*Error { return table }

// Index is c's place in Errors, -1 for a code apierr does not answer with
// ("" included). It does not allocate.
func (c Code) Index() int {
	for i, e := range &table {
		if e.Code == c {
			return i
		}
	}
	return -1
}

// Error is a public error: what the client is told. Message is for humans
// and never holds secrets, keys or another device's data.
type Error struct {
	Status     int
	Code       Code
	Message    string
	RetryAfter int // seconds; 0 means no Retry-After header
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is match on the code, so a copy with another message
// still classifies.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithMessage returns a copy of e with a more precise public message. The
// message must be safe to show (no input echoed, no secret).
func (e *Error) WithMessage(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

// Wrap returns an error that classifies as pub and unwraps to cause.
func Wrap(pub *Error, cause error) error { return &wrapped{pub: pub, cause: cause} }

type wrapped struct {
	pub   *Error
	cause error
}

func (w *wrapped) Error() string   { return w.pub.Error() + ": " + w.cause.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.pub, w.cause} }

// From maps any error to the public error to answer with. nil maps to nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var pub *Error
	if errors.As(err, &pub) {
		return pub
	}
	return ErrInternal
}

// AppendBody appends the JSON error body {"error": CODE, "message": TEXT}.
func (e *Error) AppendBody(dst []byte) []byte {
	dst = append(dst, `{"error":`...)
	dst = strconv.AppendQuote(dst, string(e.Code))
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, e.Message)
	return append(dst, '}')
}

// appendJSONString quotes s as a JSON string. Messages are ASCII text we
// write ourselves, but escape properly anyway.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c >= 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// StatusText is a convenience for adapters' logs.
func (e *Error) StatusText() string { return http.StatusText(e.Status) }
