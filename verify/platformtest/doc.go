// Package platformtest builds platform attestation evidence from test roots,
// for tests and the load generator only: an Android Key Attestation chain
// (NewAndroidCA, AndroidCA.Issue) and an Apple App Attest attestation object
// (NewAppleCA, AppleCA.Attest) that verify/androidkey and verify/appleattest
// accept when given the CA's root. Vectors locates the real-device evidence
// (PROTOCOL.md's shared test vectors) that the verifiers' tests read, and
// skips a test when it is absent.
//
// Never configure a deployment with these roots: the private keys live in
// memory, and the evidence proves nothing about any device. The package is
// importable by tests, the Go client's test helpers and loadtest; production
// code must not import it. It imports the standard library, the CBOR codec
// and verify/androidkey (for its level and boot state types).
package platformtest
