// Package androidkey verifies Android Key Attestation evidence
// ("android-key", PROTOCOL.md §7): a certificate chain whose leaf carries
// the key description extension (OID 1.3.6.1.4.1.11129.2.1.17).
//
// Verify runs the §7 checks in order: the chain is checked by signature in
// the order given up to a configured root, every certificate is within its
// validity at the injected time, the leaf key is the device key, and the key
// description's challenge, application id, security levels and root of trust
// meet the policy; finally no certificate of the chain is in the status
// list. Every failure wraps one sentinel error of this package, and Reason
// names it for the verdict's arc.
//
// The package is pure: roots, the status list and the time are passed in;
// it does no I/O and keeps no state. Values it returns are safe for
// concurrent reading. The attest core (internal/...) and the daemon that
// loads roots and status files import it; verify/platformtest imports it to
// build test evidence. It imports only the standard library and
// verify/x509chain.
package androidkey
