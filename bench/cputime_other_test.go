//go:build !unix

package bench

import "time"

// processCPU is not measured here: the CPU-time ratios report 0.
func processCPU() time.Duration { return 0 }
