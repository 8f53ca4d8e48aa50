package state

import (
	"fmt"
	"strings"
)

// Store keys.
const (
	AccountsPrefix = "accounts/"
	AppsPrefix     = "apps/"
	BansKey        = "bans"
	DeploymentKey  = "deployment"
)

// AccountKey is the store key of account id.
func AccountKey(id string) string { return AccountsPrefix + id }

// AppKey is the store key of app id.
func AppKey(id string) string { return AppsPrefix + id }

// idFromKey returns the id part of key under prefix.
func idFromKey(key, prefix string) (string, error) {
	id, ok := strings.CutPrefix(key, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("%w: key %q is not under %q", ErrCorrupt, key, prefix)
	}
	return id, nil
}

// aad is the additional data that binds a sealed value to its store key and
// field path.
func aad(storeKey, field string) string { return storeKey + "#" + field }
