// Command attestload is the attestd load generator. See package loadtest
// and docs/performance.md.
package main

import (
	"context"
	"os"

	"github.com/attestd/attestd/loadtest"
)

func main() {
	os.Exit(loadtest.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
