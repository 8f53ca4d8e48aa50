package hint

import (
	"os/exec"
	"strings"
	"testing"
)

// shellWords runs line through /bin/sh and returns the words it makes of
// it: the shell, not this package, is the judge of the quoting.
func shellWords(t testing.TB, line string) []string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", "for w in "+line+"; do printf '%s\\0' \"$w\"; done").Output()
	if err != nil {
		t.Fatalf("sh: %q: %v", line, err)
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

// TestQuotedWordInjectionStaysOneWord: a store path or id holding shell
// syntax (a command substitution, a quote, a glob, a newline) comes back
// from the shell as the one word it was, and runs nothing.
func TestQuotedWordInjectionStaysOneWord(t *testing.T) {
	for _, w := range []string{
		"", "plain", "file:///var/lib/attestd", "etcd://10.0.0.1:2379,10.0.0.2:2379/attestd",
		"with space", "it's", `"dq"`, "$(touch /tmp/hint-pwned)", "`id`", "a;b", "a|b", "a&b", "*", "?", "[a]",
		"~", "~root", "x=y", "line\nbreak", "tab\there", "back\\slash", "#comment", "!bang", "{a,b}", "é", "'", "''",
		"-n", "-e", "a'b'c",
	} {
		got := shellWords(t, Quote(w))
		if len(got) != 1 || got[0] != w {
			t.Errorf("Quote(%q) = %s: the shell made %q of it", w, Quote(w), got)
		}
	}
}

func TestCommandKeepsProgram(t *testing.T) {
	line := Command("go run ./cmd/attestctl", "--store", "file:///tmp/my store", "key", "activate", "demo", "k2")
	want := "go run ./cmd/attestctl --store 'file:///tmp/my store' key activate demo k2"
	if line != want {
		t.Fatalf("Command = %s, want %s", line, want)
	}
	if got := shellWords(t, line); len(got) != 9 || got[4] != "file:///tmp/my store" {
		t.Fatalf("the shell made %q of it", got)
	}
}

func TestProgramFor(t *testing.T) {
	cached := "/root/.cache/go-build/05/" + strings.Repeat("0a", 32) + "-d/attestctl"
	for _, c := range []struct{ exe, want string }{
		{"/tmp/go-build1234/b001/exe/attestctl", "go run ./cmd/attestctl"},
		{cached, "go run ./cmd/attestctl"},
		{"/srv/gocache/ab/" + strings.Repeat("f", 64) + "-d/attestctl", "go run ./cmd/attestctl"},
		{"/usr/bin/attestctl", "attestctl"},
		{"/home/u/go/bin/attestctl", "attestctl"},
		{"/tmp/attestctl", "attestctl"},
		{"/opt/go-build-tools/attestctl", "attestctl"},
		{"/srv/ab/" + strings.Repeat("f", 63) + "-d/attestctl", "attestctl"},
		{"attestctl", "attestctl"},
	} {
		if got := ProgramFor(c.exe, "attestctl"); got != c.want {
			t.Errorf("ProgramFor(%s) = %s, want %s", c.exe, got, c.want)
		}
	}
}

// FuzzQuote: whatever the word (no NUL: no command line holds one), the
// shell reads Quote's output back as that one word.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", "$(id)", "`id`", "\n", "'\\''", "~x", "a=b", "\"$HOME\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) || len(s) > 256 {
			return
		}
		got := shellWords(t, Quote(s))
		if len(got) != 1 || got[0] != s {
			t.Fatalf("Quote(%q) = %s: the shell made %q of it", s, Quote(s), got)
		}
	})
}
