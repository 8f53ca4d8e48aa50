// Package receipt issues and checks platform attestation receipts
// (PROTOCOL.md §7): the deployment's signed, opaque statement that a device
// key passed platform attestation for an app (hardware evidence, or a Play
// Integrity verdict, §10), with what was found, valid
// until an expiry fixed when it is issued. Any node holding the same
// Keyring accepts a receipt another node issued; checking one costs an
// HMAC-SHA256, no certificate chain.
//
// A receipt is printable ASCII:
//
//	r1.<kid>.<b64u(body)>.<b64u(HMAC-SHA256(key, "attestd receipt\n" || "r1.<kid>.<b64u body>"))>
//
// The body is a bounded binary layout (body.go) of what Receipt holds; an
// android-key receipt adds (PROTOCOL.md §9) the serials of its chain (at
// most 8 of at most 20 bytes) and what its key description attested
// (Android), as tagged extension items that a receipt issued before them
// simply lacks. A
// receipt names the format it was made from; Receipt.ForPlatform refuses
// one used for an app of another platform (PROTOCOL.md §7 1.1). The
// key id selects the key among the Keyring's active and accepted keys,
// so keys rotate like the nonce keys: issue with the new key while the old
// one is still accepted, then drop it. Use keys dedicated to receipts.
//
// The package is pure (the time is passed in, no I/O, no package state).
// The attest core imports it; it imports only the standard library and
// crypto/secret.
package receipt
