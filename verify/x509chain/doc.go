// Package x509chain checks an ordered certificate chain the way PROTOCOL.md
// §7 (1.1) asks, for both verify/androidkey and the x5c of
// verify/appleattest, from a configured root down, as Google's reference
// verifier does, so that no key taken from the request is used before it
// is trusted (Verify lists the steps):
//
//   - bounds before parsing: 1 to MaxCerts certificates of at most
//     MaxCertSize bytes each and MaxChainSize in all (Parse, VerifyDER);
//   - an allow-list of keys and signature algorithms, for every certificate
//     and every root, before any signature: ECDSA P-256 or P-384, RSA of
//     2048 to 4096 bits with e = 65537, SHA-256/384/512 (CheckAlgorithms;
//     VerifyDER reads it from each certificate's DER before it parses any);
//   - the anchor: a last certificate with a root's key stands for that
//     root, whatever its dates; otherwise a root's key must sign it;
//   - signatures from the anchor towards the leaf, in the order given
//     (names are not compared), each signer a CA or silent about it;
//   - the dates of the certificates between the anchor and the leaf, at an
//     injected time (the leaf's and the roots' dates are not checked).
//
// So the work of one chain is known before any of it is done: at most
// MaxChainSize bytes, at most MaxCerts parses (VerifyDER parses a
// certificate only when the walk from the anchor reaches it, so a chain
// refused at its anchor or at a forgery costs the parses down to there),
// and at most MaxCerts-1 signature checks plus one per distinct root key
// (at most MaxRootKeys in a root file), each no costlier than an RSA-4096
// (e = 65537) or P-384 verification. Every error wraps one
// sentinel (errors.go); Sentinels.Classify maps them to a verifier's own.
// ParseRootsPEM reads --android-roots and --apple-roots files and refuses
// a root outside the allow-list when it is loaded.
//
// It is pure: no I/O, no clock, no package state. Roots are passed in.
// Only the evidence verifiers under verify/ (verify/androidkey,
// verify/appleattest) import it, and verify/platformtest to name its
// classes; it imports only the standard library.
package x509chain
