package model

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every validation error; the message names the
// offending field as a path such as `accounts[0].keys[1].secret`.
var ErrInvalid = errors.New("invalid bundle")

// MaxBundleBytes bounds a bundle read by DecodeBundle.
const MaxBundleBytes = 16 << 20

// DecodeBundle reads one bundle strictly (PROTOCOL.md §8): an unknown or
// repeated member, at any depth, is an error naming it by its path (a
// misspelt policy flag must not pass silently, nor a second "allow_rooted"
// hidden after the first), as is trailing data. See decodeStrict.
func DecodeBundle(r io.Reader) (*Bundle, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxBundleBytes)
	}
	var b Bundle
	if err := decodeStrict(data, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, args...))
}

// Validate checks everything a bundle says about itself. Cross-references
// to records it does not carry (an app's account, an API name unique in the
// deployment) are checked by ValidateState on the merged state.
func (b *Bundle) Validate() error {
	seen := map[string]bool{}
	for i := range b.Accounts {
		a := &b.Accounts[i]
		p := fmt.Sprintf("accounts[%d]", i)
		if err := a.Validate(p); err != nil {
			return err
		}
		if seen[a.ID] {
			return invalid(p+".id", "account %q named twice", a.ID)
		}
		seen[a.ID] = true
	}
	seen = map[string]bool{}
	for i := range b.Apps {
		a := &b.Apps[i]
		p := fmt.Sprintf("apps[%d]", i)
		if err := a.Validate(p); err != nil {
			return err
		}
		if seen[a.ID] {
			return invalid(p+".id", "app %q named twice", a.ID)
		}
		seen[a.ID] = true
	}
	if b.Bans != nil {
		if err := b.Bans.Validate("bans"); err != nil {
			return err
		}
	}
	return nil
}

// ValidateID checks an identifier: 1 to MaxIDLen printable ASCII characters,
// no spaces, no '/' (ids name store keys).
func ValidateID(path, id string) error {
	if id == "" {
		return invalid(path, "missing")
	}
	if len(id) > MaxIDLen {
		return invalid(path, "longer than %d characters", MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return invalid(path, "must be printable ASCII without spaces or '/'")
		}
	}
	return nil
}

// Validate checks one account.
func (a *Account) Validate(p string) error {
	if err := ValidateID(p+".id", a.ID); err != nil {
		return err
	}
	if t := a.Token.TTL; t != 0 && (t < MinTokenTTL || t > MaxTokenTTL) {
		return invalid(p+".token.ttl", "must be %d to %d seconds", MinTokenTTL, MaxTokenTTL)
	}
	if err := validateKeys(p, a.Keys); err != nil {
		return err
	}
	secrets := map[string]bool{}
	for i, s := range a.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		if err := ValidateID(sp+".name", s.Name); err != nil {
			return err
		}
		if secrets[s.Name] {
			return invalid(sp+".name", "secret %q named twice", s.Name)
		}
		secrets[s.Name] = true
		if s.Value.IsZero() {
			return invalid(sp+".value", "missing")
		}
		if s.Value.Len() > MaxSecretBytes {
			return invalid(sp+".value", "larger than %d bytes", MaxSecretBytes)
		}
		for j, app := range s.Apps {
			if err := ValidateID(fmt.Sprintf("%s.apps[%d]", sp, j), app); err != nil {
				return err
			}
		}
	}
	if err := ValidatePins(p+".pins", a.Pins); err != nil {
		return err
	}
	apis := map[string]bool{}
	for i := range a.APIs {
		ap := fmt.Sprintf("%s.apis[%d]", p, i)
		api := &a.APIs[i]
		if err := api.validate(ap, secrets); err != nil {
			return err
		}
		if apis[api.Name] {
			return invalid(ap+".name", "api %q named twice", api.Name)
		}
		apis[api.Name] = true
	}
	return nil
}

func validateKeys(p string, keys []Key) error {
	if len(keys) == 0 {
		return invalid(p+".keys", "an account needs at least one key")
	}
	kids := map[string]bool{}
	active := 0
	for i, k := range keys {
		kp := fmt.Sprintf("%s.keys[%d]", p, i)
		if err := ValidateID(kp+".kid", k.KID); err != nil {
			return err
		}
		if kids[k.KID] {
			return invalid(kp+".kid", "kid %q named twice", k.KID)
		}
		kids[k.KID] = true
		switch k.Status {
		case StatusActive:
			active++
		case StatusVerify, StatusRetired:
		default:
			return invalid(kp+".status", "must be active, verify or retired")
		}
		if err := ValidateKeyMaterial(kp, k); err != nil {
			return err
		}
	}
	if active != 1 {
		return invalid(p+".keys", "exactly one key must be active (found %d)", active)
	}
	return nil
}

// ValidateKeyMaterial checks that a key carries the material its alg needs
// and nothing else. Messages never show key bytes.
func ValidateKeyMaterial(kp string, k Key) error {
	switch k.Alg {
	case AlgHS256:
		if !k.PrivateKey.IsZero() {
			return invalid(kp+".private_key", "HS256 keys carry secret, not private_key")
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(string(k.Secret.Reveal()))
		if err != nil {
			return invalid(kp+".secret", "must be standard base64")
		}
		if len(raw) < 32 {
			return invalid(kp+".secret", "must decode to at least 32 bytes (got %d)", len(raw))
		}
	case AlgES256, AlgEdDSA:
		if !k.Secret.IsZero() {
			return invalid(kp+".secret", "%s keys carry private_key, not secret", k.Alg)
		}
		der, err := base64.StdEncoding.Strict().DecodeString(string(k.PrivateKey.Reveal()))
		if err != nil {
			return invalid(kp+".private_key", "must be standard base64 of PKCS#8 DER")
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return invalid(kp+".private_key", "not a PKCS#8 private key")
		}
		switch pk := priv.(type) {
		case *ecdsa.PrivateKey:
			if k.Alg != AlgES256 || pk.Curve != elliptic.P256() {
				return invalid(kp+".private_key", "an ECDSA key must be P-256 with alg ES256")
			}
		case ed25519.PrivateKey:
			if k.Alg != AlgEdDSA {
				return invalid(kp+".private_key", "an Ed25519 key needs alg EdDSA")
			}
		default:
			return invalid(kp+".private_key", "must be an ECDSA P-256 or Ed25519 key")
		}
	default:
		return invalid(kp+".alg", "must be HS256, ES256 or EdDSA")
	}
	return nil
}

// ValidatePins checks a host → pins map: host names are non-empty and
// lower-case, each pin is b64 of a 32-byte SHA-256.
func ValidatePins(p string, pins map[string][]string) error {
	hosts := make([]string, 0, len(pins))
	for h := range pins {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		hp := fmt.Sprintf("%s[%q]", p, h)
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " /:@") {
			return invalid(hp, "must be a lower-case host name")
		}
		if len(pins[h]) == 0 {
			return invalid(hp, "needs at least one pin")
		}
		for i, pin := range pins[h] {
			if !IsDigest(base64.StdEncoding.Strict(), pin) {
				return invalid(fmt.Sprintf("%s[%d]", hp, i), "must be b64 of a SHA-256 digest (32 bytes)")
			}
		}
	}
	return nil
}

func (api *API) validate(ap string, secrets map[string]bool) error {
	if err := ValidateID(ap+".name", api.Name); err != nil {
		return err
	}
	u, err := url.Parse(api.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return invalid(ap+".upstream", "must be an absolute http or https URL without user info or fragment")
	}
	in := api.Inject
	if (in.Header == "") == (in.Query == "") {
		return invalid(ap+".inject", "needs exactly one of header and query")
	}
	if in.Header != "" && !validToken(in.Header) {
		return invalid(ap+".inject.header", "not a valid header name")
	}
	if !secrets[in.Secret] {
		return invalid(ap+".inject.secret", "names no secret of this account")
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token (a header name).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// Validate checks one app.
func (a *App) Validate(p string) error {
	if err := ValidateID(p+".id", a.ID); err != nil {
		return err
	}
	if err := ValidateID(p+".account", a.Account); err != nil {
		return err
	}
	switch a.Platform {
	case PlatformAndroid:
		if a.TeamID != "" {
			return invalid(p+".team_id", "only ios apps have a team_id")
		}
	case PlatformIOS:
		if err := ValidateID(p+".team_id", a.TeamID); err != nil {
			return err
		}
	default:
		return invalid(p+".platform", "must be android or ios")
	}
	if len(a.Signers) == 0 {
		return invalid(p+".signers", "an app needs at least one signer")
	}
	for i, s := range a.Signers {
		if !IsDigest(base64.RawURLEncoding.Strict(), s) {
			return invalid(fmt.Sprintf("%s.signers[%d]", p, i), "must be b64u of a SHA-256 digest (32 bytes)")
		}
	}
	if len(a.Versions) == 0 {
		return invalid(p+".versions", "an app needs at least one version")
	}
	for v, d := range a.Versions {
		vp := fmt.Sprintf("%s.versions[%q]", p, v)
		if v == "" || len(v) > MaxIDLen {
			return invalid(vp, "version names are 1 to %d characters", MaxIDLen)
		}
		if !IsDigest(base64.RawURLEncoding.Strict(), d) {
			return invalid(vp, "must be b64u of a 32-byte code digest")
		}
	}
	switch a.Policy.AndroidMinSecurity {
	case "", SecuritySoftware, SecurityTEE, SecurityStrongBox:
	default:
		return invalid(p+".policy.android_min_security", "must be software, tee or strongbox")
	}
	switch a.Policy.Enforcement {
	case "", EnforcementEnforce, EnforcementMonitor:
	default:
		return invalid(p+".policy.enforcement", "must be enforce or monitor")
	}
	if err := a.validateField(p); err != nil {
		return err
	}
	return a.validatePlay(p)
}

// Validate checks a ban list: every entry is a did, b64u of 32 bytes.
func (b *Bans) Validate(p string) error {
	for i, d := range b.Devices {
		if !IsDigest(base64.RawURLEncoding.Strict(), d) {
			return invalid(fmt.Sprintf("%s.devices[%d]", p, i), "must be a did: b64u of 32 bytes")
		}
	}
	return nil
}

// IsDigest reports whether s decodes under enc to exactly 32 bytes.
func IsDigest(enc *base64.Encoding, s string) bool {
	if len(s) > 64 {
		return false
	}
	b, err := enc.DecodeString(s)
	return err == nil && len(b) == 32
}

// ValidateState checks the cross-references of a whole registry: every app
// names an existing account, every secret's apps exist and belong to that
// account, and API names are unique in the deployment.
func ValidateState(accounts map[string]*Account, apps map[string]*App) error {
	for _, id := range sortedKeys(apps) {
		a := apps[id]
		if accounts[a.Account] == nil {
			return invalid(fmt.Sprintf("apps[%q].account", id), "account %q does not exist", a.Account)
		}
	}
	apiOwner := map[string]string{}
	for _, id := range sortedKeys(accounts) {
		acc := accounts[id]
		for i, s := range acc.Secrets {
			for j, app := range s.Apps {
				if apps[app] == nil || apps[app].Account != acc.ID {
					return invalid(fmt.Sprintf("accounts[%q].secrets[%d].apps[%d]", id, i, j), "app %q is not an app of account %q", app, acc.ID)
				}
			}
		}
		for i, api := range acc.APIs {
			if other, dup := apiOwner[api.Name]; dup {
				return invalid(fmt.Sprintf("accounts[%q].apis[%d].name", id, i), "api %q already belongs to account %q", api.Name, other)
			}
			apiOwner[api.Name] = id
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
