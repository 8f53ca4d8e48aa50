// Package x509chain checks an ordered certificate chain the way PROTOCOL.md §7
// asks: each certificate is signed by the next one, in the order given (never
// by matching issuer names), the last is signed by, or is, a configured root,
// and every certificate of the chain and the root it ends at is within its
// validity at an injected time. Work is bounded before any parsing: at most
// MaxCerts certificates of at most MaxCertSize bytes each.
//
// It is pure: no I/O, no clock, no package state. Roots are passed in.
//
// Only the evidence verifiers under verify/ (verify/androidkey,
// verify/appleattest) import it; it imports only the standard library.
package x509chain
