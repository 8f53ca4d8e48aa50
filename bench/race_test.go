//go:build race

package bench

import "testing"

func skipIfRace(t *testing.T) { t.Helper(); t.Skip("allocation counts are meaningless under -race") }
