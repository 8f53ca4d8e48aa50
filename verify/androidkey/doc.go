// Package androidkey verifies Android Key Attestation evidence
// ("android-key", PROTOCOL.md §7): a certificate chain whose leaf carries
// the key description extension (OID 1.3.6.1.4.1.11129.2.1.17).
//
// Verify runs the §7 checks in order: the chain is checked from a configured
// root down by verify/x509chain (keys and signature algorithms on the
// allow-list before any signature, the anchor, signatures in the order
// given, the dates of the certificates between anchor and leaf at the
// injected time), the leaf key is the device key, and the key description's
// challenge, application id (and version code), security levels and root of
// trust meet the policy, and so do the patch levels and OS version
// (PROTOCOL.md §9, CheckFields, which the attest core also runs on what a
// receipt recorded); finally no certificate of the chain is in the status
// list, by serial number (Result.Serials, what a receipt records). Every
// failure wraps one sentinel error of this package, and Reason names it for
// the verdict's arc.
//
// Bounds, all checked before the work they bound: at most 8 certificates of
// at most 16 KiB (x509chain); a key description of at most 16 KiB read by a
// non-recursive DER reader (definite lengths of at most 3 bytes, tag
// numbers below 2^21, at most 128 authorizations per list, each read
// authorization at most once, integers of at most 8 bytes, 128 packages and
// 32 signature digests); certificate serial numbers of at most 20 octets; a
// status list of at most 16 MiB and 2^20 entries, serials of at most 128 hex
// digits; a policy of at most 64 boot keys, a patch age of at most 3650
// days and a minimum OS version of at most 999999 (Policy.Validate).
//
// The package is pure: roots, the status list and the time are passed in;
// it does no I/O and keeps no state. Values it returns are safe for
// concurrent reading. The attest core (internal/...) and the daemon that
// loads roots and status files import it; verify/platformtest imports it to
// build test evidence. It imports only the standard library and
// verify/x509chain.
package androidkey
