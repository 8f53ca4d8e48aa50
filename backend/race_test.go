//go:build race

package backend

import "testing"

func skipIfRace(t *testing.T) { t.Skip("allocation counts are meaningless under -race") }
