package daemon

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/ast"
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

	"github.com/attestd/attestd/internal/ctl"
)

// The operator's guide (docs/operator.md) names every setting, metric and
// attestctl command. These tests fail when one is added without its row,
// or when a doc names one that is gone, so that the guide cannot fall
// behind the code again.

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
	for _, path := range goFiles(t, false) {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
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

// goFiles are the module's Go files, tests or not as tests says, outside
// testdata, node_modules and hidden directories.
func goFiles(t *testing.T, tests bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != repoRoot && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".go") && strings.HasSuffix(path, "_test.go") == tests:
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
