package httpsig

import (
	goparser "go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's dependency rule: the standard library
// and crypto/internal/ecdsasig (which imports nothing) only (DESIGN.md:
// crypto/* import only the standard library and their codec libraries).
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !std && path != "github.com/attestd/attestd/crypto/internal/ecdsasig" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
