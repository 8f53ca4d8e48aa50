//go:build race

package metrics

import "testing"

func skipIfRace(t *testing.T) { t.Helper(); t.Skip("allocation counts are meaningless under -race") }
