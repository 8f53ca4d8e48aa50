package daemon

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/attestd/attestd/internal/ctl"
)

// The operator's guide (docs/operator.md) names every setting, metric and
// attestctl command, and the docs link only to what exists. These tests
// fail when one is added without its row, or when a doc names one that is
// gone, so that the guide cannot fall behind the code again.

const repoRoot = ".."

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// settingRow is a row of the settings table: | `--flag` | key | default | … |.
var settingRow = regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\|([^|]*)\\|([^|]*)\\|")

// TestOperatorGuideListsEverySetting: every flag of attestd has one row in
// docs/operator.md's settings table, with its file key and its default;
// the table has no row for a flag attestd does not have.
func TestOperatorGuideListsEverySetting(t *testing.T) {
	rows := map[string][2]string{}
	for _, line := range strings.Split(readDoc(t, "docs/operator.md"), "\n") {
		m := settingRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("docs/operator.md: two rows for --%s", m[1])
		}
		rows[m[1]] = [2]string{strings.TrimSpace(m[2]), strings.TrimSpace(m[3])}
	}
	f := DefaultFlags()
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	registerFlags(fs, &f)
	fs.VisitAll(func(fl *flag.Flag) {
		row, ok := rows[fl.Name]
		if !ok {
			t.Errorf("docs/operator.md: no row for --%s in the settings table", fl.Name)
			return
		}
		delete(rows, fl.Name)
		key := "`" + fileKey(fl.Name) + "`"
		if fl.Name == "config" {
			key = "–" // not a key of the file it names
		}
		if row[0] != key {
			t.Errorf("docs/operator.md: --%s: key %q, want %q", fl.Name, row[0], key)
		}
		if err := sameDefault(fl, row[1]); err != nil {
			t.Errorf("docs/operator.md: --%s: %v", fl.Name, err)
		}
	})
	for name := range rows {
		t.Errorf("docs/operator.md: a row for --%s, which is no flag of attestd", name)
	}
}

// sameDefault: the default cell begins with the flag's default in
// backticks (a duration compared as a duration: `1m` is 1m0s), or with "–"
// when the default is the zero value (a default made at start, such as
// the snapshot file's, is then explained after the dash).
func sameDefault(fl *flag.Flag, cell string) error {
	def := fl.DefValue
	if strings.HasPrefix(cell, "–") {
		if def == "" || def == "0" || def == "0s" || def == "false" {
			return nil
		}
		return fmt.Errorf("default documented as –, but it is %q", def)
	}
	doc, _, ok := strings.Cut(strings.TrimPrefix(cell, "`"), "`")
	if !ok || !strings.HasPrefix(cell, "`") {
		return fmt.Errorf("default cell %q: want `%s` (or – for a zero default)", cell, def)
	}
	if d, isDur := fl.Value.(flag.Getter).Get().(time.Duration); isDur {
		if got, err := time.ParseDuration(doc); err != nil || got != d {
			return fmt.Errorf("default documented as %q, but it is %v", doc, d)
		}
		return nil
	}
	if doc != def {
		return fmt.Errorf("default documented as %q, but it is %q", doc, def)
	}
	return nil
}

// metricName is a metric name as the docs write it.
var metricName = regexp.MustCompile(`attestd_[a-z0-9_]*[a-z0-9]`)

// TestOperatorGuideListsEveryMetric: every attestd_* metric registered
// anywhere in the module's code has a row in docs/operator.md's metric
// table, and every attestd_* name any doc mentions is registered.
func TestOperatorGuideListsEveryMetric(t *testing.T) {
	registered := registeredMetrics(t)
	if len(registered) < 30 {
		t.Fatalf("found only %d attestd_* metrics in the code: the scan is broken", len(registered))
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(readDoc(t, "docs/operator.md"), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.HasPrefix(line, "| `attestd_") {
			for _, m := range metricName.FindAllString(cells[1], -1) {
				listed[m] = true
			}
		}
	}
	for name := range registered {
		if !listed[name] {
			t.Errorf("docs/operator.md: no row for %s in the metric table", name)
		}
	}
	for _, path := range docFiles(t) {
		for _, m := range metricName.FindAllString(readDoc(t, path), -1) {
			base := m
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !registered[base] {
				t.Errorf("%s names %s, which attestd does not register", path, m)
			}
		}
	}
}

// registeredMetrics finds, in every non-test Go file of the module, the
// metric names given to prometheus.NewDesc or as the Name of a
// prometheus.*Opts literal.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	add := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "attestd_") {
				names[s] = true
			}
		}
	}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != repoRoot:
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isPrometheus(n.Fun, "NewDesc") && len(n.Args) > 0 {
					add(n.Args[0])
				}
			case *ast.CompositeLit:
				if isPrometheus(n.Type, "Opts") {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Name") {
							add(kv.Value)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// isPrometheus reports whether e is prometheus.X with X ending in suffix.
func isPrometheus(e ast.Expr, suffix string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, "prometheus") && strings.HasSuffix(sel.Sel.Name, suffix)
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestOperatorGuideListsEveryAttestctlCommand: every command `attestctl
// help` lists has a row in docs/operator.md's table of commands.
func TestOperatorGuideListsEveryAttestctlCommand(t *testing.T) {
	var out bytes.Buffer
	ctl.Main(context.Background(), []string{"help"}, strings.NewReader(""), &out, io.Discard)
	guide := readDoc(t, "docs/operator.md")
	_, list, _ := strings.Cut(out.String(), "\nCommands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	n := 0
	for _, line := range strings.Split(list, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		name = strings.TrimSuffix(name, " [COMMAND]")
		n++
		if !strings.Contains(guide, "| `"+name+"`") {
			t.Errorf("docs/operator.md: no row for `attestctl %s` in the table of commands", name)
		}
	}
	if n < 20 {
		t.Fatalf("found only %d commands in attestctl help:\n%s", n, out.String())
	}
}

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
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != repoRoot:
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(path)
		for _, m := range def.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
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
