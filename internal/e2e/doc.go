// Package e2e holds the end-to-end protocol tests: real daemons on
// loopback, real HTTP clients, tokens checked by an independent JWT
// library. The tables of protocol_errors_test.go and verdicts_test.go run
// over every transport. All of it is test code: the package has no API.
package e2e
