package try

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

// maxJWKSBytes bounds a JWKS read from the node.
const maxJWKSBytes = 1 << 20

// jwt is a token as try shows it, decoded without verification.
type jwt struct {
	raw    string
	header []byte
	pretty []byte
	alg    string
	kid    string
	aud    string
	arc    *string
	mon    bool   // mon (§11): the app is in monitor mode
	dbg    string // dbg (§11): made with this debug token
}

// decode returns a JWT's header and claims, unverified.
func decode(tok string) (*jwt, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("the node's token is not a compact JWT")
	}
	t := &jwt{raw: tok}
	var err error
	if t.header, err = base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		return nil, fmt.Errorf("token header: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(t.header, &h); err != nil {
		return nil, fmt.Errorf("token header: %w", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("token claims: %w", err)
	}
	var c struct {
		Aud string  `json:"aud"`
		Arc *string `json:"arc"`
		Mon bool    `json:"mon"`
		Dbg string  `json:"dbg"`
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("token claims: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("token claims: %w", err)
	}
	t.alg, t.kid, t.aud, t.arc, t.mon, t.dbg = h.Alg, h.Kid, c.Aud, c.Arc, c.Mon, c.Dbg
	t.pretty, err = json.MarshalIndent(m, "", "  ")
	return t, err
}

// verdict is what try concludes, for people.
type verdict struct {
	passed bool
	line   string
	notes  []string
}

func failed(line string, notes ...string) verdict {
	return verdict{line: "FAILED: " + line, notes: notes}
}

// check is what verifying the token's signature found.
type check struct {
	verified bool   // it verifies with a key of the account
	decoy    bool   // it does not: a failed verdict's decoy
	unknown  string // neither could be told, and why
}

// verdict reads the token: its audience, its arc claim where the account
// annotates, and its signature against the account's keys wherever try can
// reach them; and says when the token was made with a debug token.
func (t *trial) verdict(ctx context.Context, tok *jwt) verdict {
	v := t.readVerdict(ctx, tok)
	if tok.dbg != "" {
		v.notes = append(v.notes, fmt.Sprintf("made with debug token %q", tok.dbg))
	}
	return v
}

func (t *trial) readVerdict(ctx context.Context, tok *jwt) verdict {
	if tok.aud == "unknown" {
		return t.unknownApp()
	}
	if t.f.account != "" && tok.aud != t.f.account {
		return failed(fmt.Sprintf("the token is for account %q, not %q (--account)", tok.aud, t.f.account))
	}
	ck := t.check(ctx, tok)
	switch {
	case tok.mon && tok.arc != nil && *tok.arc != "":
		return failed(*tok.arc+" (monitor mode: the token is signed with the account's key, so backends accept it unless they refuse monitor-mode failures)",
			t.hints(*tok.arc)...)
	case tok.arc != nil && *tok.arc != "":
		return failed(*tok.arc+" (the token is a decoy no backend accepts)", t.hints(*tok.arc)...)
	case ck.decoy:
		n := "the token does not verify with the keys of account " + tok.aud + ": it is a failed verdict's decoy"
		if tok.arc != nil {
			n = "the token's arc is empty, but it does not verify with the keys of account " + tok.aud +
				" that try read: is the node serving another store than the one try read?"
		}
		return failed(n, "the account does not annotate its tokens, so the reasons are not in the token: annotate them (\"token\": {\"annotate\": true} in a bundle), "+
			"or see the node's \"verdict failed\" log lines (one failure in --verdict-log-every is logged; --log-level debug logs them all)")
	case tok.arc != nil:
		v := verdict{passed: true, line: "PASSED (arc is empty)"}
		switch {
		case ck.verified:
			v.notes = append(v.notes, fmt.Sprintf("the token verifies with key %s of account %s", tok.kid, tok.aud))
		case ck.unknown != "":
			v.notes = append(v.notes, "the token's signature was not checked: "+ck.unknown)
		}
		return v
	case ck.verified:
		return verdict{passed: true, line: fmt.Sprintf("PASSED (the token verifies with key %s of account %s)", tok.kid, tok.aud)}
	}
	return verdict{line: "UNKNOWN: account " + tok.aud + " does not annotate its tokens, and " + ck.unknown,
		notes: []string{"a failed verdict's token looks the same as a pass: only the account's keys tell them apart"}}
}

func (t *trial) unknownApp() verdict {
	if t.app.demo {
		return failed("app_unknown: the node does not know the demo app "+t.app.ID,
			"a node has the demo only on a store made by 'attestctl init --demo' (or by the daemon's first start on its default store, or with --seed-demo)",
			"attest one of your apps with --app ID --signer DIGEST --code-digest DIGEST --version V, or --bundle FILE")
	}
	return failed("app_unknown: the node does not know app "+t.app.ID,
		"register it on the store the node serves ('attestctl app add', or 'attestctl import BUNDLE'); nodes apply it within 2 seconds")
}

// hints say where a failure reason's values come from.
func (t *trial) hints(arc string) []string {
	var out []string
	for _, r := range strings.Split(arc, ",") {
		switch r {
		case "signer_mismatch":
			out = append(out, "signer_mismatch: --signer is not one of the app's registered signers")
		case "version_unknown":
			out = append(out, fmt.Sprintf("version_unknown: version %q is not registered for the app ('attestctl app version add')", t.app.Version))
		case "measurement_mismatch":
			out = append(out, "measurement_mismatch: --code-digest is not the digest registered for this version")
		case "platform_mismatch":
			out = append(out, "platform_mismatch: the app is registered for the other platform (--platform)")
		case "platform_attestation_missing":
			out = append(out, "platform_attestation_missing: the app's policy requires hardware evidence (android-key, apple-appattest), which try cannot produce")
		}
	}
	return out
}

// check verifies the token with the account's keys: the node's JWKS for
// ES256 and EdDSA, the store's HS256 secret (through the global flags).
func (t *trial) check(ctx context.Context, tok *jwt) check {
	var ks []token.VerifyKey
	var err error
	switch tok.alg {
	case string(token.HS256):
		ks, err = t.hmacKeys(ctx, tok.aud)
	case string(token.ES256), string(token.EdDSA):
		ks, err = t.jwks(ctx, tok.aud)
	default:
		return check{unknown: fmt.Sprintf("its tokens are signed with %q, which try does not verify", tok.alg)}
	}
	if err != nil {
		return check{unknown: err.Error()}
	}
	set, err := token.NewKeySet(ks...)
	if err != nil {
		return check{unknown: fmt.Sprintf("the account's keys do not load: %v", err)}
	}
	var out token.Verified
	err = set.VerifyString(tok.raw, token.Options{Leeway: 30 * time.Second, Audience: tok.aud}, &out)
	switch {
	case err == nil:
		return check{verified: true}
	case errors.Is(err, token.ErrSignature), errors.Is(err, token.ErrUnknownKey), errors.Is(err, token.ErrAlgorithm):
		return check{decoy: true}
	}
	return check{unknown: fmt.Sprintf("its token did not check: %v", err)}
}

// hmacKeys are the account's HS256 keys from the store, or why not.
func (t *trial) hmacKeys(ctx context.Context, account string) ([]token.VerifyKey, error) {
	keys, err := t.env.AccountKeys(ctx, account)
	switch {
	case errors.Is(err, ctl.ErrNoStore) && !t.env.StoreGiven():
		return nil, errors.New("its HS256 secret is in the store, which try did not find at the default location: give the node's --store (and --master-key) to attestctl to have the token checked")
	case errors.Is(err, state.ErrNotFound):
		return nil, fmt.Errorf("the store try read has no account %s: give the node's --store (and --master-key) to attestctl", account)
	case err != nil:
		return nil, fmt.Errorf("its HS256 secret could not be read from the store: %v", err)
	}
	var out []token.VerifyKey
	for _, k := range keys {
		if k.Alg != model.AlgHS256 || k.Status == model.StatusRetired {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(string(k.Secret.Reveal()))
		if err != nil {
			continue
		}
		vk, err := token.NewHMACKey(k.KID, secret.New(raw))
		clear(raw)
		if err == nil {
			out = append(out, vk)
		}
	}
	return out, nil
}

// jwks fetches the account's public keys from the node.
func (t *trial) jwks(ctx context.Context, account string) ([]token.VerifyKey, error) {
	u := strings.TrimSuffix(t.f.url, "/") + "/v1/accounts/" + url.PathEscape(account) + "/jwks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("its JWKS: %v", err)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("its JWKS could not be fetched: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil || len(body) > maxJWKSBytes || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("its JWKS could not be fetched from %s (status %d)", u, resp.StatusCode)
	}
	ks, err := token.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("its JWKS does not parse: %v", err)
	}
	return ks, nil
}

func pinsJSON(p map[string][]string) []byte {
	b, _ := json.MarshalIndent(p, "", "  ")
	return b
}
