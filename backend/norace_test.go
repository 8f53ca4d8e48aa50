//go:build !race

package backend

import "testing"

func skipIfRace(*testing.T) {}
