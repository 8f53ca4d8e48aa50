//go:build !linux

package ctl

import (
	"errors"
	"os"
)

// Elsewhere than Linux a terminal is read as a plain stream (with echo);
// use --value-file there.
func isTerminal(*os.File) bool { return false }

func disableEcho(*os.File) (func(), error) { return nil, errors.New("not supported") }
