// Package hint builds the commands that attestd and attestctl print for
// the user to run next ("make it sign with: attestctl key activate demo
// k2"), so that each can be pasted into a POSIX shell as it is: every word
// is quoted when it needs to be, and the program is named as the user ran
// it (`go run ./cmd/attestctl` from a source tree, `attestctl` otherwise).
//
// Callers add the flags that locate the store (--store, --master-key, the
// --etcd-* flags) from the invocation's own: a hint that drops them would
// act on another store.
//
// Any package may import it; it imports only the standard library.
package hint

import (
	"os"
	"path/filepath"
	"strings"
)

// Quote returns s as one word of a POSIX shell: unchanged when it holds
// only characters no shell treats specially, else in single quotes (a
// single quote inside written as '\”).
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if plain(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// plain reports whether every byte of s is one a shell takes literally
// anywhere in a word. '=' is left out so that a first word never reads as
// an assignment (and '~', which expands after '=' or ':' there).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/' || c == ',' || c == '+' || c == '@' || c == '%' || c == ':':
		default:
			return false
		}
	}
	return true
}

// Command is the line that runs program (written as it is: "attestctl",
// "go run ./cmd/attestctl") with args, each quoted as needed.
func Command(program string, args ...string) string {
	var b strings.Builder
	b.WriteString(program)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(Quote(a))
	}
	return b.String()
}

// Program is how to run the program name (attestd, attestctl) from
// where the running process was started: "go run ./cmd/NAME" when the
// running binary was built by `go run` (see ProgramFor), else NAME.
func Program(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return ProgramFor(exe, name)
}

// ProgramFor is Program for the executable at path exe. `go run` leaves
// its binary in a temporary go-build directory (…/go-buildNNN/b001/exe/
// NAME), or, since Go 1.24, in the build cache (GOCACHE, by default
// ~/.cache/go-build, as …/HH/<64 hex>-d/NAME); either marks a source tree.
func ProgramFor(exe, name string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(exe)), "/")
	for _, part := range parts[:max(len(parts)-1, 0)] {
		if rest, ok := strings.CutPrefix(part, "go-build"); ok && strings.Trim(rest, "0123456789") == "" {
			return "go run ./cmd/" + name
		}
	}
	if n := len(parts); n >= 3 && isHex(parts[n-3], 2) && strings.HasSuffix(parts[n-2], "-d") && isHex(strings.TrimSuffix(parts[n-2], "-d"), 64) {
		return "go run ./cmd/" + name
	}
	return name
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
