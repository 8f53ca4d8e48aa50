// Command attestd is the attestation edge daemon. See the README.
package main

import (
	"context"
	"os"

	"github.com/attestd/attestd/daemon"
)

func main() {
	os.Exit(daemon.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
