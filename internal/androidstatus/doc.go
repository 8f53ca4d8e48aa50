// Package androidstatus keeps a node's Android attestation status list
// (PROTOCOL.md §9) fresh, and installs each good one in the attest core.
//
// The list comes from a file, re-read when it changes (its age is its
// modification time), or from a URL: https://, or http:// on a loopback IP
// address only (Google publishes https://android.googleapis.com/attestation/status).
// A URL is fetched at start and then every Refresh, sooner when the
// answer's Cache-Control max-age says so (never sooner than MinRefresh,
// whatever a server says), with a Timeout on each fetch (the body
// included), and after a failure again after an exponential backoff with
// jitter. The last good list is kept in the Cache file, whose modification
// time is the list's fetch time, so that a node that restarts without
// network starts with it.
//
// What never replaces the list in force: an answer that is not 200, a body
// over androidkey.MaxStatusListSize (read through io.LimitReader at the
// maximum + 1) or cut short, one that does not parse, a redirect to another
// scheme or host, and a list that un-revokes more than half of the REVOKED
// certificates of the list in force (Google un-revokes rarely; an answer
// that drops the revocations is broken or hostile). A list that un-revokes
// fewer is accepted, and each un-revoked serial is logged and counted.
//
// The package does I/O (files, HTTP) but keeps its decisions pure and
// testable: the clock (Now and After) and the jitter are injected, and
// schedule.go computes each next delay. A *Keeper is safe for concurrent
// use. Only the daemon imports it.
package androidstatus
