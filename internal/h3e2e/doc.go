// Package h3e2e holds the end-to-end tests of the operator's surface:
// HTTP/3, TLS, signals and systemd. All of it is test code; the helpers
// that reach a node over HTTP/3 are in internal/testenv/h3test.
package h3e2e
