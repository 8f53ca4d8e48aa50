// Package layering keeps the one-way data flow of DESIGN.md: it lists every
// package's imports with `go list` and fails on a forbidden edge.
package layering

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/attestd/attestd"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func under(path, prefix string) bool {
	p := mod + "/" + prefix
	return path == p || strings.HasPrefix(path, p+"/")
}

func isStd(imp string) bool { return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") }

// only allows the standard library and the packages named.
func only(pkgs ...string) func(string) bool {
	return func(imp string) bool { return isStd(imp) || slices.Contains(pkgs, imp) }
}

// rule says which imports a group of packages may not have.
type rule struct {
	name  string
	from  func(string) bool
	allow func(imp string) bool
}

func TestOneWayFlow(t *testing.T) {
	pure := func(imp string) bool {
		return isStd(imp) || under(imp, "crypto") || under(imp, "verify") ||
			imp == "github.com/fxamacker/cbor/v2" || imp == "github.com/go-jose/go-jose/v4" || strings.HasPrefix(imp, "golang.org/x/crypto/")
	}
	noTransportNoStore := func(imp string) bool {
		for _, bad := range []string{"github.com/valyala/fasthttp", "github.com/quic-go/", "net/http", "go.etcd.io/",
			mod + "/store/", mod + "/daemon", mod + "/internal/fastapi", mod + "/internal/h3api"} {
			// A trailing "/" forbids the packages below (store/filestore),
			// not the interface package itself (store).
			if imp == bad || strings.HasSuffix(bad, "/") && strings.HasPrefix(imp, bad) {
				return false
			}
		}
		return true
	}
	rules := []rule{
		{"verify and crypto import only the standard library and their codecs",
			func(p string) bool { return under(p, "verify") || under(p, "crypto") }, pure},
		{"the attest core imports no transport and no store client",
			func(p string) bool {
				return under(p, "internal/attest") || under(p, "internal/registry") || under(p, "cache")
			}, noTransportNoStore},
		{"only mains import the daemon",
			func(p string) bool {
				// Mains, and the end-to-end test packages that run real daemons.
				return !under(p, "cmd") && !under(p, "daemon") && !under(p, "internal/testenv") && !strings.HasSuffix(p, "e2e")
			},
			func(imp string) bool { return !under(imp, "daemon") }},
		{"what a backend imports stays outside internal",
			func(p string) bool { return under(p, "backend") || under(p, "client") },
			func(imp string) bool { return !under(imp, "internal") && !under(imp, "daemon") && !under(imp, "store") }},
		{"the master key follower knows the store and the keys, no transport, no core and no daemon",
			func(p string) bool { return under(p, "internal/masterkeys") },
			func(imp string) bool {
				return noTransportNoStore(imp) || under(imp, "store/open")
			}},
		{"the master key follower does not reach into the registry or the core",
			func(p string) bool { return under(p, "internal/masterkeys") },
			func(imp string) bool {
				return !under(imp, "internal/registry") && !under(imp, "internal/attest") && !under(imp, "internal/api") &&
					!under(imp, "cache")
			}},
		{"the access log knows requests, not the store, the keys or the core",
			func(p string) bool { return under(p, "internal/accesslog") },
			func(imp string) bool {
				return !under(imp, "store") && !under(imp, "daemon") && !under(imp, "internal/attest") &&
					!under(imp, "internal/registry") && !under(imp, "internal/state") && !under(imp, "internal/masterkeys") &&
					!under(imp, "crypto")
			}},
		{"the token codec imports the standard library, crypto/secret, the ECDSA signature codec and its JSON reader only",
			func(p string) bool { return p == mod+"/crypto/token" },
			only(mod+"/crypto/secret", mod+"/crypto/internal/ecdsasig", mod+"/verify/jsonscan")},
		{"request signatures import the standard library and the ECDSA signature codec only",
			func(p string) bool { return p == mod+"/crypto/httpsig" },
			only(mod + "/crypto/internal/ecdsasig")},
		{"the JSON reader and the ECDSA signature codec import the standard library only",
			func(p string) bool { return p == mod+"/verify/jsonscan" || p == mod+"/crypto/internal/ecdsasig" },
			only()},
		{"stores know nothing of the edge",
			func(p string) bool { return under(p, "store") },
			func(imp string) bool {
				return !under(imp, "internal/attest") && !under(imp, "daemon") && !under(imp, "internal/registry") && !under(imp, "internal/api")
			}},
	}
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if !r.from(p.ImportPath) {
				continue
			}
			for _, imp := range p.Imports {
				if !r.allow(imp) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.name)
				}
			}
		}
	}
}
