package daemon

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The docs a user reads link only to what exists, cite only tests that
// exist, and never send the reader to the project's internal contract;
// go doc of the public packages neither.

// docFiles are the Markdown files a user reads besides README.md (the
// lead's): docs/, and the READMEs of examples/backend, bench and the
// RFC 9421 test vectors.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(files) < 8 {
		t.Fatalf("docs/*.md: %v (%d files)", err, len(files))
	}
	var rel []string
	for _, f := range files {
		rel = append(rel, filepath.ToSlash(strings.TrimPrefix(f, repoRoot+string(filepath.Separator))))
	}
	return append(rel, "examples/backend/README.md", "bench/README.md", "crypto/httpsig/testdata/README.md")
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6} +(.+?) *$`)
	// internalDoc is what a user does not have: the project's own contract.
	internalDoc = regexp.MustCompile(`PROTOCOL\.md|\.\./shared|/work/shared`)
)

// TestDocLinksResolve: every relative link of the docs names a file that
// exists and, with #anchor, a heading of it; no doc points to the
// project's internal contract, which users do not have.
func TestDocLinksResolve(t *testing.T) {
	for _, path := range docFiles(t) {
		text := readDoc(t, path)
		if m := internalDoc.FindString(text); m != "" {
			t.Errorf("%s mentions %s, which users do not have: link docs/protocol.md", path, m)
		}
		for _, target := range mdLinks(text) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.ToSlash(filepath.Join(filepath.Dir(path), file))
				if _, err := os.Stat(filepath.Join(repoRoot, dest)); err != nil {
					t.Errorf("%s links %s: %v", path, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") && !anchors(readDoc(t, dest))[anchor] {
				t.Errorf("%s links %s: %s has no heading #%s", path, target, dest, anchor)
			}
		}
	}
}

// mdLinks returns the link targets of text outside fenced code blocks.
func mdLinks(text string) []string {
	var out []string
	for _, line := range proseLines(text) {
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors are the ids GitHub gives the headings of text: lower case,
// punctuation but '-' and '_' dropped, spaces made '-', "-N" after a
// repeated one.
func anchors(text string) map[string]bool {
	ids := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(text) {
		m := mdHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		id := b.String()
		if n := seen[id]; n > 0 {
			ids[fmt.Sprintf("%s-%d", id, n)] = true
		} else {
			ids[id] = true
		}
		seen[id]++
	}
	return ids
}

// proseLines are the lines of text outside ``` fences.
func proseLines(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	return out
}

// TestSDKDocsNameShippedDocs: what `go doc` shows of the public packages
// (the SDKs and what they expose) refers to docs/protocol.md, never to
// the internal contract. Comments inside unexported code may.
func TestSDKDocsNameShippedDocs(t *testing.T) {
	for _, dir := range []string{"backend", "client", "client/scrub", "crypto/token", "crypto/httpsig"} {
		fset := token.NewFileSet()
		paths, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var files []*ast.File
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		pkg, err := doc.NewFromFiles(fset, files, "github.com/attestd/attestd/"+dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range exportedDocs(pkg) {
			if m := internalDoc.FindString(text); m != "" {
				t.Errorf("go doc %s: %q mentions %s: say docs/protocol.md", dir, firstLine(text), m)
			}
		}
	}
}

// exportedDocs are the doc texts go doc shows of pkg: the package's, and
// those of its exported declarations, struct fields and methods included.
func exportedDocs(pkg *doc.Package) []string {
	out := []string{pkg.Doc}
	decl := func(d ast.Node) {
		ast.Inspect(d, func(n ast.Node) bool {
			if cg, ok := n.(*ast.CommentGroup); ok {
				out = append(out, cg.Text())
			}
			return true
		})
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			out = append(out, v.Doc)
			decl(v.Decl)
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			out = append(out, f.Doc)
		}
	}
	values(pkg.Consts)
	values(pkg.Vars)
	funcs(pkg.Funcs)
	for _, ty := range pkg.Types {
		out = append(out, ty.Doc)
		decl(ty.Decl)
		values(ty.Consts)
		values(ty.Vars)
		funcs(ty.Funcs)
		funcs(ty.Methods)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// citedTest is a test, fuzz target or benchmark a doc names in backticks
// (a subtest path is cited by its top-level name).
var citedTest = regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)[/`]")

// TestDocsCiteTestsThatExist: every test a doc cites as proof (the threat
// model's last column, the benchmarks' names) is a function of some
// _test.go file of the module.
func TestDocsCiteTestsThatExist(t *testing.T) {
	defined := map[string]bool{}
	def := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)
	for _, path := range goFiles(t, true) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
	}
	cited := 0
	for _, path := range docFiles(t) {
		for _, m := range citedTest.FindAllStringSubmatch(readDoc(t, path), -1) {
			cited++
			if !defined[m[1]] {
				t.Errorf("%s cites %s, which no _test.go file defines", path, m[1])
			}
		}
	}
	if cited < 100 || len(defined) < 500 {
		t.Fatalf("%d citations of %d tests found: the scan is broken", cited, len(defined))
	}
}
