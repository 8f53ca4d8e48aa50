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
  --master-key FILE  master key file (default: a file store's own master.key,
                     which init creates, mode 0600; an etcd store needs one:
                     'master-key new FILE' or 'init --new-master-key FILE')
  --timeout D        give up on the store after D (default %s)

Commands:
`

func writeOverview(w io.Writer) {
	fmt.Fprintf(w, overview, open.DefaultURL, DefaultTimeout)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  try\tattest a registered app against a running node, as the app would\n")
	fmt.Fprintf(tw, "  help [COMMAND]\tshow help\n")
	_ = tw.Flush()
	fmt.Fprintln(w, "\nOnly init creates a store; every other command refuses a store that does not\nexist. Exit codes: 0 done, 1 failed, 2 usage error. Secrets are never printed\nexcept by 'export --reveal-secrets' and 'key show-secret'.\n\nRun 'attestctl help COMMAND' (or a group: 'help key') for more.")
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

// groupSummaries say what each group of commands is about.
var groupSummaries = map[string]string{
	"account": "Accounts own apps, token keys, runtime secrets, pins and proxied APIs.",
	"app":     "Apps are registered under an account, with their platform, signers and versions.",
	"app version": `Each version of an app has a code digest: the measurement an app reports
is checked against the digest of the version it says it is.`,
	"key": `Token keys sign an account's tokens (HS256, ES256 or EdDSA). Rotation: key
add, wait for backends to see the new key, key activate, then after the
token TTL key retire the old one.`,
	"secret": `Runtime secrets are values (third-party API keys) released to an account's
apps in the verdict, encrypted to the device key, or injected by the
secrets proxy. Values are read from a file or standard input, never from a
flag, and never printed.`,
	"pin":        "Pins (b64 SHA-256 of a SubjectPublicKeyInfo) are sent to apps with every verdict, per host.",
	"api":        "Proxied APIs are upstreams the edge forwards /v1/proxy/NAME/... to, injecting a runtime secret.",
	"ban":        "Device bans are deployment-wide, by did (b64u SHA-256 of the device key).",
	"deployment": "Deployment keys (nonce, receipt, TLS session tickets) are shared by every node of the deployment.",
	"master-key": `Master keys, in the master key file (never in the store), seal every secret
at rest. See 'help master-key rotate' for a rotation without downtime.`,
	"store": `Every record of the store carries a tag under a key derived from the master
key, and a manifest lists them all: nodes serve only a store that verifies,
so write access to the store without the master key changes nothing.`,
	"play-integrity": `Play Integrity keys are an android app's response encryption keys from Play
Console (decryption and verification), with which the edge opens Play's
tokens itself. They are read from files or standard input, sealed at rest,
and never printed.`,
	"debug-token": `Debug tokens let emulators, CI runners and debug builds attest as an app
(they waive signer, version, measurement, integrity flags and platform
attestation; never bans). The store keeps only their MAC; each is printed
once, expires, and can be revoked on every node within 2 seconds.`,
}

// writeGroupHelp lists a group's commands with what the group is about.
func writeGroupHelp(w io.Writer, g *group, program string) {
	fmt.Fprintf(w, "usage: attestctl %s SUBCOMMAND [ARGS]\n\n", g.name)
	if s := groupSummaries[g.name]; s != "" {
		fmt.Fprintf(w, "%s\n\n", s)
	}
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, c := range g.commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nrun '%s help %s SUBCOMMAND' for one command's help\n", program, g.name)
}
