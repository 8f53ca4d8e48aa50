// Package recordauth authenticates every record of a store (PROTOCOL §8,
// 1.1): write access to the store without the master key must not register
// an app, reassign a secret, move an upstream, lift a ban, nor remove,
// add or replay a record.
//
// # Record tags
//
// Every record attestctl writes (a JSON object R, compact) is stored with
// one more member, last:
//
//	R without its closing "}" + `,"_auth":"` TAG `"}`      (`{"_auth":"` TAG `"}` for R = {})
//
//	TAG = "a1:" KID ":" GEN ":" b64u( HMAC-SHA256(K_KID, MSG) )
//	MSG = "attestd record v1" 0x00 || u64be(len(KEY)) || KEY || u64be(GEN) || R
//
// KID names the master key (crypto/envelope) whose record key K_KID keyed
// the MAC: K_KID = HKDF-SHA256(master key KID, info "attestd record
// authentication v1"), never the master key itself. KEY is the record's
// store key, so a record copied to another key does not verify; GEN is the
// generation of the change that wrote it (below). Readers strip the member
// before decoding: what a node decodes is exactly R, the bytes the MAC
// covers. A node of attestd 1.0 ignores the member.
//
// # The manifest
//
// A record alone cannot show that another was removed, or that it was
// replaced by a genuine older copy of itself. So every change also
// rewrites the record at ManifestKey, tagged the same way (its GEN is its
// own generation G):
//
//	{"generation":G,"digest":b64u(D),"records":{KEY:GEN,...}[,"pending":[KEY,...]]}
//	D = SHA-256("attestd manifest v1" 0x00 || for each KEY in byte order: u64be(len KEY) KEY u64be(len TAG) TAG)
//
// It lists every other record with the generation its tag names, and D
// binds their tags. "pending" appears only while `attestctl store
// authenticate` upgrades a store written before record authentication in
// several changes: the records it was approved to tag and has not tagged
// yet (they do not verify until it has). G grows by at least one with every change. A snapshot
// verifies when the manifest's tag verifies, every other record's tag
// verifies, the records present are exactly those listed with the
// generations listed, and D matches; a node also refuses a G lower than one
// it has accepted (a rollback of the whole store to an older genuine
// state), or the same G with another D. The manifest is written in the
// same atomic change as the records (store.Writer.Update: one file
// replace, one etcd transaction), computed inside Update's function, so
// racing writers each build on the state they read and the loser retries.
//
// Bounds: a record value is at most MaxRecordBytes; the manifest at most
// MaxManifestBytes (1 MiB, under etcd's 1.5 MiB request cap with room for
// the records of a change), which lists some 25 000 records of 30-byte keys.
//
// # Upgrade and repair
//
// Authenticate tags the records of a store that holds no tag at all (one
// written by attestd 1.0), once an operator has reviewed them; it never
// tags a record found without a tag in a store that has tags (that is a
// record written without the master key): it refuses, or with Repair
// removes it, as it removes forged, added and replayed records.
//
// # What is not authenticated
//
// The store's own bookkeeping: revisions and mod revisions (assigned by the
// store; nodes use them only to order and cache, never to decide), the
// etcd meta key "_rev", and the header of a node's snapshot file (its
// source name and the time it was last confirmed). Nothing a node decides
// a verdict, a secret, an upstream or a ban from is outside a tag.
//
// Who may import: the store wiring (store/open), the registry, attestctl
// and the daemon. It imports the store interface and crypto/envelope only.
package recordauth
