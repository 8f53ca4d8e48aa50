package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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

// checkSignature verifies the request signature of in with the device key
// of the verified token v, after reading the body whole (at most
// MaxBodyBytes: nothing is forwarded before its Content-Digest matched),
// and records it in the node's replay window. in.body is then the body in
// memory.
func (p *Proxy) checkSignature(ctx context.Context, in *inbound, v *token.Verified) error {
	if !v.HasConfirmation {
		return apierr.Wrap(apierr.ErrRequestSignatureInvalid, errNotBound)
	}
	if in.length > p.cfg.MaxBodyBytes {
		return p.tooLarge()
	}
	var body []byte
	if in.body != nil {
		var err error
		body, err = io.ReadAll(&cappedReader{r: in.body, left: p.cfg.MaxBodyBytes})
		switch {
		case errors.Is(err, errBodyTooLarge):
			return p.tooLarge()
		case err != nil:
			return apierr.Wrap(apierr.ErrBadRequest.WithMessage("the body could not be read"), fmt.Errorf("proxy: body: %w", err))
		}
		in.body, in.length = bytes.NewReader(body), int64(len(body))
	}
	msg := httpsig.Request{Method: in.method, Authority: in.authority, Path: in.path, Query: in.query, Header: in.header}
	if p.cfg.Authority != "" {
		msg.Authority = p.cfg.Authority
	}
	now := p.cfg.Now()
	sc := p.scratch.Get().(*httpsig.Scratch)
	checked, err := sc.VerifyRequest(&msg, v.Confirmation[:], body, now, p.cfg.SignatureWindow)
	p.scratch.Put(sc)
	if err != nil {
		return apierr.Wrap(apierr.ErrRequestSignatureInvalid, err)
	}
	fresh, err := p.cfg.Replay.Add(ctx, checked.ID, now, checked.Until)
	switch {
	case err != nil:
		return apierr.Wrap(apierr.ErrOverloaded, fmt.Errorf("proxy: replay window: %w", err))
	case !fresh:
		return apierr.Wrap(apierr.ErrRequestSignatureInvalid, errReplayed)
	}
	return nil
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
