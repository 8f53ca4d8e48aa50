//go:build !race

package limit

import "testing"

func skipIfRace(*testing.T) {}
