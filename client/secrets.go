package client

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// OpenSecrets decrypts the `secrets` JWE of a result with the device key
// (docs/protocol.md §4: ECDH-ES, A256GCM) and returns the name → value map.
func (c *Client) OpenSecrets(r *Result) (map[string]string, error) {
	if r.Secrets == "" {
		return nil, errors.New("client: the answer carries no secrets")
	}
	obj, err := jose.ParseEncrypted(r.Secrets, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("client: secrets: %w", err)
	}
	if obj.Header.KeyID != c.DID() {
		return nil, errors.New("client: secrets: JWE kid is not this device's did")
	}
	plain, err := obj.Decrypt(c.key)
	if err != nil {
		return nil, fmt.Errorf("client: secrets: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, fmt.Errorf("client: secrets: %w", err)
	}
	return m, nil
}
