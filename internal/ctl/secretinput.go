package ctl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
)

// errSecretInput is returned for an unusable secret value; it never holds
// any of the value.
var errSecretInput = errors.New("secret value")

// readSecretValue reads a runtime secret's value from file, or else from
// standard input (without echo when it is a terminal), and removes one
// trailing newline.
func readSecretValue(r *runner, file string) (secret.Value, error) {
	var src io.Reader = r.stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return secret.Value{}, err
		}
		defer f.Close()
		src = f
	} else if f, ok := r.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(r.stderr, "secret value (not shown; end with Enter): ")
		restore, err := disableEcho(f)
		if err != nil {
			return secret.Value{}, fmt.Errorf("%w: terminal: %w", errSecretInput, err)
		}
		line, err := bufio.NewReader(f).ReadBytes('\n')
		restore()
		fmt.Fprintln(r.stderr)
		if err != nil && !errors.Is(err, io.EOF) {
			return secret.Value{}, fmt.Errorf("%w: read: %w", errSecretInput, err)
		}
		src = bytes.NewReader(line)
		defer clear(line)
	}
	data, err := io.ReadAll(io.LimitReader(src, model.MaxSecretBytes+3))
	defer clear(data)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: read: %w", errSecretInput, err)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	switch {
	case len(data) == 0:
		return secret.Value{}, fmt.Errorf("%w: empty", errSecretInput)
	case len(data) > model.MaxSecretBytes:
		return secret.Value{}, fmt.Errorf("%w: larger than %d bytes", errSecretInput, model.MaxSecretBytes)
	case !utf8.Valid(data):
		return secret.Value{}, fmt.Errorf("%w: must be UTF-8 text", errSecretInput)
	}
	return secret.New(data), nil
}
