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
	if err := p.secretsAllowed(api, v); err != nil {
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

// secretsAllowed refuses the tokens whose verdict released no secret
// (PROTOCOL.md §11): a monitor-mode failure, and one made with a debug
// token that is not live or was made without --secrets. A monitor-mode
// pass (mon with arc "") is a pass. Without Config.DebugTokens every
// token that names a debug token is refused (fail closed).
func (p *Proxy) secretsAllowed(api *registry.API, v *token.Verified) error {
	if v.Monitor && (!v.HasAnnotation || len(v.Annotation) > 0) {
		return errMonitorFailure
	}
	if len(v.Debug) == 0 {
		return nil
	}
	if p.cfg.DebugTokens == nil {
		return errDebugNoSecrets
	}
	t, ok, err := p.cfg.DebugTokens.DebugTokenNamed(api.Account, string(v.Subject), string(v.Debug))
	switch {
	case err != nil:
		return err
	case !ok || !t.Secrets || p.cfg.Now().Unix() >= t.ExpiresAt:
		return errDebugNoSecrets
	}
	return nil
}
