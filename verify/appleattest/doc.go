// Package appleattest verifies Apple App Attest attestation objects
// ("apple-appattest", PROTOCOL.md §7), as Apple documents in "Validating
// apps that connect to your server": the x5c chain to a configured root,
// the nonce extension (OID 1.2.840.113635.100.8.2) equal to
// SHA-256(authData ‖ clientDataHash), the key id equal to SHA-256 of the
// credential certificate's key, rpIdHash = SHA-256(team id "." app id),
// counter 0, the aaguid of the production (or, where allowed, development)
// environment, and the credential id equal to the key id. Apple's receipt
// in attStmt is decoded but not verified.
//
// The App Attest key (the credential certificate's key) is Apple's
// per-install key, not the request's device key: the device key is bound to
// the attestation through the client data hash, which the caller computes
// from the nonce and the device key (§7), so the two keys need not be equal
// and are not compared here.
//
// Bounds, checked before the work they bound: an attestation object of at
// most 32 KiB, decoded by a strict CBOR decoder (definite lengths, no tags,
// no duplicate keys, at most 4 levels of nesting and 16 array elements or
// map pairs per item), a credential id of at most 1023 bytes, and x5c
// checked by verify/x509chain (at most 8 certificates of 16 KiB, keys on
// §7's allow-list before any signature).
//
// The package is pure: roots and time are passed in, it does no I/O and
// keeps no state. The attest core and the daemon import it;
// verify/platformtest uses it to check what it builds. It imports the
// standard library, github.com/fxamacker/cbor/v2 and verify/x509chain.
package appleattest
