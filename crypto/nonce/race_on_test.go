//go:build race

package nonce

// raceEnabled: the race detector makes sync.Pool drop items, so allocation
// budgets are not measurable.
const raceEnabled = true
