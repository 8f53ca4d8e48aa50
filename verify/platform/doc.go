// Package platform is the policy-level check of PROTOCOL.md §7 over the
// evidence formats (android-key, apple-appattest, and §10's play-integrity):
// it decodes a request's platform_attestation object (ParseEvidence),
// checks that its format fits the app's platform, computes the App Attest
// client data hash from the nonce and the device key, translates the app's
// §8 policy fields, runs verify/androidkey, verify/appleattest or
// verify/playintegrity and returns what was found (Findings, the fields a
// receipt records) or an error that Reason names for arc.
//
// Receipts ({"format": "receipt"}) are decoded here but checked by the
// caller with crypto/receipt (which also refuses a receipt whose format is
// not of the app's platform, §7 1.1).
//
// ParseEvidence is a one-pass JSON reader (verify/jsonscan) with its bounds
// checked first: the object at most MaxEvidenceSize (64 KiB), unknown
// members nested at most 32 deep, at most 8 certificates of 16 KiB, a key
// id of 64 bytes, an attestation object of 32 KiB, a receipt of 4096
// characters, a Play Integrity token of 16 KiB. Its cost is linear in the size, about a quarter of
// encoding/json's (BenchmarkParseEvidence beside BenchmarkParseEvidenceStd).
//
// The package is pure: roots, the status list and the time are passed in.
// internal/platformcheck (the Checker the daemon gives the attest core)
// imports it. It imports the standard library and verify/androidkey,
// verify/appleattest, verify/playintegrity and verify/devicekey.
package platform
