package platformtest

import (
	"errors"
	"os"
	"path/filepath"
)

// VectorsEnv names the environment variable that, when set, is the folder of
// the real-device vectors.
const VectorsEnv = "ATTESTD_PLATFORM_VECTORS"

// Skipper is the part of testing.TB that Vectors uses.
type Skipper interface {
	Helper()
	Skipf(format string, args ...any)
}

// Vectors returns the folder of real-device platform evidence described in
// its README.md (PROTOCOL.md's shared test vectors): $ATTESTD_PLATFORM_VECTORS,
// or else shared/testvectors/platform beside the repository (../shared from
// the module root, found from the working directory up). The vectors are
// read from there, never copied into this repository; t is skipped when the
// folder is absent.
func Vectors(t Skipper) string {
	t.Helper()
	dir := os.Getenv(VectorsEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Skipf("platform test vectors: %v (set %s)", err, VectorsEnv)
			return ""
		}
		dir = filepath.Join(root, "..", "shared", "testvectors", "platform")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Skipf("platform test vectors not found at %s (set %s): %v", dir, VectorsEnv, err)
		return ""
	}
	return dir
}

// moduleRoot is the nearest folder, from the working directory up, that
// holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}
