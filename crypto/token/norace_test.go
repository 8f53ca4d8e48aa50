//go:build !race

package token

import "testing"

func skipIfRace(*testing.T) {}
