package attest

import (
	"fmt"
	"strconv"

	"github.com/attestd/attestd/crypto/seal"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/verify/devicekey"
)

// appendAnswer appends the 200 answer of §2 for decision d to dst: the
// token (signed with the account's real key when d.RealKey, else with its
// decoy key, or the deployment's for an unknown app; with mon and arc in
// monitor mode, arc where the account annotates, dbg after a debug token,
// §11), its expiry, the sealed secrets when d.Secrets and asked, the pins,
// a receipt on a pass, and "platform_attestation": "required" when
// d.Required. w holds the request and its ids (newIDs); key is the device
// key.
func (e *Edge) appendAnswer(dst []byte, w *work, d *Decision, key devicekey.Key, now int64) ([]byte, error) {
	if d.Account == nil {
		return e.appendUnknown(dst, w, key, now)
	}
	r, acct := &w.req, d.Account
	passed := d.Passed()
	signer := acct.Decoy
	if d.RealKey() {
		signer = acct.Signer
	}
	c := e.claims(w, d.App.ID, acct.ID, now, acct.TTL, key)
	if acct.Annotate || d.Monitor {
		w.arc = joinReasons(d.Reasons)
		c.Annotation = &w.arc
		c.Monitor = d.Monitor
	}
	if d.Debug.Outcome == DebugAccepted {
		c.Debug = d.Debug.Name
	}
	dst = append(dst, `{"token":"`...)
	dst, err := signer.AppendMint(dst, &c)
	if err != nil {
		return dst, fmt.Errorf("attest: mint: %w", err)
	}
	dst = append(dst, `","expires_at":`...)
	dst = appendInt(dst, c.ExpiresAt)
	if r.WantSecrets && d.Secrets() {
		dst = append(dst, `,"secrets":"`...)
		dst, err = seal.Seal(dst, key.ECDH(), w.did(), acct.SecretsFor(d.App.ID).Reveal(), e.cfg.Rand)
		if err != nil {
			return dst, fmt.Errorf("attest: seal: %w", err)
		}
		dst = append(dst, '"')
	}
	dst = append(dst, `,"pins":`...)
	dst = append(dst, acct.PinsJSON...)
	if passed && d.Platform.Receipt != "" {
		dst = append(dst, `,"receipt":`...)
		dst = strconv.AppendQuote(dst, d.Platform.Receipt)
	}
	if d.Required {
		dst = append(dst, `,"platform_attestation":"required"`...)
	}
	return append(dst, '}'), nil
}

// appendUnknown answers app_unknown: an HS256 decoy, aud "unknown", 300 s,
// no arc and no pins (§3).
func (e *Edge) appendUnknown(dst []byte, w *work, key devicekey.Key, now int64) ([]byte, error) {
	signer, err := e.cfg.Registry.UnknownDecoy()
	if err != nil {
		return dst, fmt.Errorf("attest: decoy: %w", err)
	}
	c := e.claims(w, string(w.req.AppID), UnknownAudience, now, UnknownTTL, key)
	dst = append(dst, `{"token":"`...)
	if dst, err = signer.AppendMint(dst, &c); err != nil {
		return dst, fmt.Errorf("attest: mint decoy: %w", err)
	}
	dst = append(dst, `","expires_at":`...)
	dst = appendInt(dst, c.ExpiresAt)
	return append(dst, '}'), nil
}

// claims are the token's claims. A request that asked for pop gets cnf,
// the device key (§12), whatever the verdict: a failed verdict's token has
// the shape of a pass's (§3).
func (e *Edge) claims(w *work, sub, aud string, now, ttl int64, key devicekey.Key) token.Claims {
	c := token.Claims{
		Issuer:    e.cfg.Issuer,
		Subject:   sub,
		Audience:  aud,
		IssuedAt:  now,
		ExpiresAt: now + ttl,
		ID:        w.jti(),
		Device:    w.did(),
		Payload:   w.pay(),
	}
	if w.req.PoP {
		c.Confirmation = key.Point()
	}
	return c
}

func joinReasons(rs []string) string {
	switch len(rs) {
	case 0:
		return ""
	case 1:
		return rs[0]
	}
	n := len(rs) - 1
	for _, r := range rs {
		n += len(r)
	}
	b := make([]byte, 0, n)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return string(b)
}
