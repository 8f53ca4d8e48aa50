// Package model holds the registry's records as operators write them: the
// bundle of PROTOCOL.md §8 (accounts, apps, bans) and its validation.
//
// It is pure: no I/O, no clock. Secret fields hold secret.Value, which never
// prints. The stored (encrypted) form and the compiled form the edge serves
// from live elsewhere (internal/state, cache).
//
// Only packages of this module import it.
package model
