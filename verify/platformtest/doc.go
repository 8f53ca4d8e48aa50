// Package platformtest builds platform attestation evidence from test roots,
// for tests and the load generator only: an Android Key Attestation chain
// (NewAndroidCA, AndroidCA.Issue) and an Apple App Attest attestation object
// (NewAppleCA, AppleCA.Attest) that verify/androidkey and verify/appleattest
// accept when given the CA's root. CertSpec forges certificates field by
// field (any key, including keys nobody holds, any signature algorithm,
// padding, a replaced signature) and HostileChains builds the attacker's
// chains of PROTOCOL.md §7 (1.1) with the class a verifier must refuse them
// with, for tests, fuzz corpora and benchmarks. Vectors locates the
// real-device evidence (PROTOCOL.md's shared test vectors) that the
// verifiers' tests read, and skips a test when it is absent.
//
// Never configure a deployment with these roots: the private keys live in
// memory, and the evidence proves nothing about any device. The package is
// importable by tests, the Go client's test helpers and loadtest; production
// code must not import it. It imports the standard library, the CBOR codec,
// verify/androidkey (for its level and boot state types) and
// verify/x509chain (for its bounds and sentinels).
package platformtest
