//go:build race

package token

import "testing"

func skipIfRace(t *testing.T) { t.Skip("allocation counts are meaningless under -race") }
