//go:build race

package devicekey

import "testing"

func skipIfRace(t *testing.T) { t.Skip("allocation counts are meaningless under -race") }
