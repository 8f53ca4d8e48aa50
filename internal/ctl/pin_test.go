package ctl

import (
	"os"
	"strings"
	"testing"
)

// TestPinAddRefusesOversizedPEMFile: pin add and pin remove read a PEM
// file of at most 64 KiB; they used to read any file whole, so a wrong
// path (a log, a device) made attestctl use memory without bound. A file
// past the bound is refused even when it holds a good certificate, and
// nothing is written.
func TestPinAddRefusesOversizedPEMFile(t *testing.T) {
	e := newEnv(t)
	e.ok("account", "add", "acme")
	cert, _, _ := selfSigned(t, "pay.example.com")
	_, pub, _ := selfSigned(t, "pay.example.com")
	padded := string(cert) + strings.Repeat("# padding\n", maxPEMFile/10+1)
	big, p2 := e.writeFile("big.pem", padded), e.writeFile("p2.pem", string(pub))
	before := e.stateBytes()
	e.fail(ExitFailure, []string{"pin", "add", "acme", "pay.example.com", big, p2}, "big.pem", "larger than 65536 bytes")
	e.fail(ExitFailure, []string{"pin", "remove", "acme", "pay.example.com", big}, "larger than 65536 bytes")
	if string(e.stateBytes()) != string(before) {
		t.Fatal("a refused pin command wrote")
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		e.fail(ExitFailure, []string{"pin", "add", "acme", "pay.example.com", "/dev/zero", p2}, "larger than")
	}
	// At the bound, the same certificate is read.
	e.ok("pin", "add", "acme", "pay.example.com", e.writeFile("ok.pem", padded[:maxPEMFile]), p2)
}
