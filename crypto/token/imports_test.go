package token

import (
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's dependency rule: the standard library,
// crypto/secret, crypto/internal/ecdsasig (which imports nothing) and
// verify/jsonscan (its JSON reader, which imports the standard library)
// only (DESIGN.md: crypto/* import only the standard library and their
// codec libraries).
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			switch path {
			case "github.com/attestd/attestd/crypto/secret", "github.com/attestd/attestd/crypto/internal/ecdsasig",
				"github.com/attestd/attestd/verify/jsonscan":
				continue
			}
			if !std {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
