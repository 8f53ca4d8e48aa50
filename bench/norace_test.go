//go:build !race

package bench

import "testing"

func skipIfRace(*testing.T) {}
