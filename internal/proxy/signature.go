package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/attestd/attestd/client/scrub"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// Request signatures (PROTOCOL.md §12) for an API with require_signature.
// The app signs the request it sends to the edge: @authority is the
// edge's, @path is /v1/proxy/{api}/…, as sent. The proxy checks that
// request, and only then builds the upstream's, which differs (another
// authority, path and query, no token): the upstream cannot check the
// signature, and need not.

// errNotBound: the API requires signatures and the token has no cnf.
var errNotBound = errors.New("proxy: the api requires request signatures and the token is not bound to a device key")

// errReplayed: the signature was accepted before on this node.
var errReplayed = errors.New("proxy: request signature replayed")

// signedCheck is a request signature being checked in two steps: its
// headers and signature (signatureHeaders), before the request takes a
// device's place or the stream timeout and before its body is read; then
// its body (signedBody). Whoever holds a bound token but not the device
// key is refused at the first step, having cost one signature check.
type signedCheck struct {
	sc  *httpsig.Scratch
	msg httpsig.Request
}

// signatureHeaders checks the request signature of in, all but its body,
// with the device key of the verified token v (VerifyRequestHeaders), and
// records it in the node's replay window: a signature passes this step
// once. Its scratch must be given back with done.
func (p *Proxy) signatureHeaders(ctx context.Context, in *inbound, v *token.Verified) (c *signedCheck, err error) {
	if !v.HasConfirmation {
		return nil, apierr.Wrap(apierr.ErrRequestSignatureInvalid, errNotBound)
	}
	chk := &signedCheck{sc: p.scratch.Get().(*httpsig.Scratch),
		msg: httpsig.Request{Method: in.method, Authority: in.authority, Path: in.path, Query: in.query, Header: in.header}}
	defer func() {
		if err != nil { // a refusal gives the scratch back at once
			p.done(chk)
		}
	}()
	c = chk
	if p.cfg.Authority != "" {
		c.msg.Authority = p.cfg.Authority
	}
	now := p.cfg.Now()
	checked, err := c.sc.VerifyRequestHeaders(&c.msg, v.Confirmation[:], in.length > 0, now, p.cfg.SignatureWindow)
	if err != nil {
		return nil, apierr.Wrap(apierr.ErrRequestSignatureInvalid, err)
	}
	fresh, err := p.cfg.Replay.Add(ctx, checked.ID, now, checked.Until)
	switch {
	case err != nil:
		return nil, apierr.Wrap(apierr.ErrOverloaded, fmt.Errorf("proxy: replay window: %w", err))
	case !fresh:
		return nil, apierr.Wrap(apierr.ErrRequestSignatureInvalid, errReplayed)
	}
	return c, nil
}

// signedBody reads the body of in whole (at most MaxBodyBytes: nothing is
// forwarded before its Content-Digest matched) and checks it against the
// signature signatureHeaders passed (CheckBody). in.body is then the body
// in memory.
func (p *Proxy) signedBody(in *inbound, c *signedCheck) error {
	var body []byte
	if in.body != nil {
		var err error
		body, err = io.ReadAll(scrub.Capped(in.body, p.cfg.MaxBodyBytes, errBodyTooLarge))
		switch {
		case errors.Is(err, errBodyTooLarge):
			return p.tooLarge()
		case err != nil:
			return apierr.Wrap(apierr.ErrBadRequest.WithMessage("the body could not be read"), fmt.Errorf("proxy: body: %w", err))
		}
		in.body, in.length = bytes.NewReader(body), int64(len(body))
	}
	if err := c.sc.CheckBody(&c.msg, body); err != nil {
		return apierr.Wrap(apierr.ErrRequestSignatureInvalid, err)
	}
	return nil
}

// done gives c's scratch back (c may be nil).
func (p *Proxy) done(c *signedCheck) {
	if c != nil {
		p.scratch.Put(c.sc)
	}
}

// dropSignature removes the att signature (the app's to the edge) from
// the headers the upstream gets: it is meaningless there, and its keyid is
// the device's id. Other signatures pass unchanged.
func dropSignature(h http.Header) {
	for _, name := range [...]string{"Signature-Input", "Signature"} {
		vals, ok := h[name]
		if !ok {
			continue
		}
		rest, found := httpsig.RemoveMember(strings.Join(vals, ", "), httpsig.Label)
		switch {
		case !found:
		case rest == "":
			delete(h, name)
		default:
			h[name] = []string{rest}
		}
	}
}

// requiresSignature is whether api asks for §12's checks.
func requiresSignature(api *registry.API) bool { return api.RequireSignature }
