package apierr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// declared reads apierr.go's declarations: every constant of type Code
// (name → value), and every *Error sentinel (name → the name of the Code
// constant it answers with).
func declared(t *testing.T) (codes map[string]Code, sentinels map[string]string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "apierr.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes, sentinels = map[string]Code{}, map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, sp := range g.Specs {
			vs, ok := sp.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, name := range vs.Names {
				if id, ok := vs.Type.(*ast.Ident); ok && g.Tok == token.CONST && id.Name == "Code" {
					lit := vs.Values[i].(*ast.BasicLit)
					v, _ := strconv.Unquote(lit.Value)
					codes[name.Name] = Code(v)
				}
				if g.Tok != token.VAR || i >= len(vs.Values) {
					continue
				}
				u, ok := vs.Values[i].(*ast.UnaryExpr)
				if !ok {
					continue
				}
				cl, ok := u.X.(*ast.CompositeLit)
				if !ok || cl.Type.(*ast.Ident).Name != "Error" {
					continue
				}
				for _, el := range cl.Elts {
					kv := el.(*ast.KeyValueExpr)
					if kv.Key.(*ast.Ident).Name == "Code" {
						sentinels[name.Name] = kv.Value.(*ast.Ident).Name
					}
				}
			}
		}
	}
	return codes, sentinels
}

// TestEverySentinelInTable: every code apierr declares, and every
// sentinel it answers with, is in Errors (whose order the metrics'
// fixed series follow), once, and Index finds each at its place.
func TestEverySentinelInTable(t *testing.T) {
	codes, sentinels := declared(t)
	if len(codes) != NumCodes || len(sentinels) != NumCodes {
		t.Errorf("apierr.go declares %d codes and %d sentinels; NumCodes is %d", len(codes), len(sentinels), NumCodes)
	}
	all := Errors()
	seen := map[Code]bool{}
	for i, e := range all {
		if e == nil {
			t.Fatalf("Errors()[%d] is nil", i)
		}
		if seen[e.Code] {
			t.Errorf("code %q twice in the table", e.Code)
		}
		seen[e.Code] = true
		if e.Code.Index() != i {
			t.Errorf("%q.Index() = %d, want %d", e.Code, e.Code.Index(), i)
		}
	}
	for name, c := range codes {
		if !seen[c] {
			t.Errorf("code %s (%q) is not in the table", name, c)
		}
	}
	for name, code := range sentinels {
		if !seen[codes[code]] {
			t.Errorf("sentinel %s (code %s) is not in the table", name, code)
		}
	}
	if Code("").Index() != -1 || Code("teapot").Index() != -1 {
		t.Error("a code apierr does not answer with has an index")
	}
}

// TestErrorsIsACopy: what Errors returns cannot change the table.
func TestErrorsIsACopy(t *testing.T) {
	a := Errors()
	a[0] = nil
	if Errors()[0] == nil {
		t.Fatal("Errors shares the table")
	}
}

func TestCodeIndexAllocatesNothing(t *testing.T) {
	c := Internal
	if n := testing.AllocsPerRun(100, func() { _ = c.Index() }); n != 0 {
		t.Fatalf("Index allocates %v times", n)
	}
}
