package nodeinterop

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindSkipsWithoutAModule: a module that is not installed skips the
// test where CI is not set (failing it is seen with CI set in CI itself).
func TestFindSkipsWithoutAModule(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Find(t, "no-such-module-of-attestd")
		t.Error("Find returned for a module that is not installed")
	})
	if !skipped {
		t.Fatal("not skipped")
	}
}

// TestRunTellsARefusalFromOutput: a script that exits 0 has its output
// decoded; one that exits non-zero is a refusal (ok false) with its
// standard error.
func TestRunTellsARefusalFromOutput(t *testing.T) {
	n := Find(t)
	if _, err := os.Stat(filepath.Join(n.Dir, "package.json")); err != nil {
		t.Fatalf("interop/node not found from the test's directory: %v", err)
	}
	n.Dir = t.TempDir()
	for name, body := range map[string]string{
		"echo.mjs":   `let s = ""; process.stdin.on("data", d => s += d); process.stdin.on("end", () => console.log(JSON.stringify({got: JSON.parse(s)})));`,
		"refuse.mjs": `console.error("refused"); process.exit(3);`,
	} {
		if err := os.WriteFile(filepath.Join(n.Dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out struct{ Got map[string]int }
	if stderr, ok := n.Run(t, "echo.mjs", map[string]int{"a": 1}, &out); !ok || out.Got["a"] != 1 {
		t.Fatalf("echo: ok %v, out %v, stderr %q", ok, out, stderr)
	}
	if stderr, ok := n.Run(t, "refuse.mjs", nil, &out); ok || stderr != "refused\n" {
		t.Fatalf("refuse: ok %v, stderr %q", ok, stderr)
	}
}
