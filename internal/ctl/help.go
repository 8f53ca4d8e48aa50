package ctl

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/attestd/attestd/store/open"
)

const overview = `attestctl manages the registry of an attestd deployment: accounts, apps,
keys, runtime secrets, pins, device bans and deployment keys.

usage: attestctl [--store URL] [--master-key FILE] [--timeout D] COMMAND [ARGS]

Global flags (also accepted after the command):
  --store URL        file:///path/to/dir or etcd://host:port/prefix
                     (default %s, the daemon's default)
  --master-key FILE  master key file (default: the store's own master.key,
                     created mode 0600 on first use)
  --timeout D        give up on the store after D (default %s)

Commands:
`

func writeOverview(w io.Writer) {
	fmt.Fprintf(w, overview, open.DefaultURL, DefaultTimeout)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  try\trun a real attestation against a running daemon\n")
	fmt.Fprintf(tw, "  help [COMMAND]\tshow help\n")
	_ = tw.Flush()
	fmt.Fprintln(w, "\nExit codes: 0 done, 1 failed, 2 usage error. Secrets are never printed\nexcept by 'export --reveal-secrets'.")
}

func writeCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: attestctl %s %s\n\n%s\n", c.name, c.args, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
