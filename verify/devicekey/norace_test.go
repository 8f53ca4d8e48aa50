//go:build !race

package devicekey

import "testing"

func skipIfRace(*testing.T) {}
