// Package state is the registry's stored form: how accounts, apps, the ban
// list and the deployment-wide keys are laid out as JSON values in a
// store.Store, with every secret sealed at rest.
//
// Key layout:
//
//	accounts/<id>   an account; key secrets, private keys and runtime secret
//	                values sealed with AAD "<store key>#<field path>", e.g.
//	                "accounts/acme#keys/k1/secret"
//	apps/<id>       an app; its Play Integrity keys sealed with AAD
//	                "<store key>#play_integrity/<field>", e.g.
//	                "apps/com.example.shop#play_integrity/decryption_key"
//	bans            the ban list
//	deployment      deployment-wide keys (nonce, receipt, TLS session
//	                tickets, QUIC stateless reset and token), each sealed
//
// Because the AAD binds a sealed value to its key and field, a value copied
// elsewhere does not open.
//
// Every sealed value names the master key that sealed it (crypto/envelope);
// Reseal moves them all to a new master key in one change, and
// SealedKeyIDs tells which master keys the store still needs.
//
// Writers (attestctl, the daemon's first-run seeding) build a Mutation and
// pass it to store.Writer.Update; readers decode records with DecodeAccount,
// DecodeApp, DecodeBans, DecodeDeployment or DecodeAll. Nothing here does
// I/O; randomness comes from an injected io.Reader.
//
// Only packages of this module import it.
package state
