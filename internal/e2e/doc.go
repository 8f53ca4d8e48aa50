// Package e2e holds the end-to-end protocol tests: real daemons on
// loopback, real HTTP clients, tokens checked by an independent JWT
// library. The table of protocol.go runs over every transport.
package e2e
