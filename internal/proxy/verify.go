package proxy

import (
	"errors"
	"net/http"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/registry"
)

// verify checks the request's token for api (see the package doc) into v.
// The errors hold no token contents beyond times and a known kid.
func (p *Proxy) verify(api *registry.API, acct *registry.Account, h http.Header, v *token.Verified) error {
	toks := h[TokenHeader]
	if len(toks) != 1 || toks[0] == "" {
		return errNoToken
	}
	o := token.Options{Now: p.cfg.Now(), Leeway: p.cfg.Leeway, Audience: api.Account, Issuer: p.cfg.Issuer}
	if acct.ID != api.Account {
		return errors.New("proxy: the api's account record does not match")
	}
	if err := acct.Keys.VerifyString(toks[0], o, v); err != nil {
		return err
	}
	if !api.RequireBinding && len(v.Payload) == 0 {
		return nil
	}
	var bound []byte
	if auth := h["Authorization"]; len(auth) == 1 {
		bound = []byte(auth[0])
	}
	return v.CheckBinding(bound)
}
