package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `attestload: the attestd load generator.

  attestload seed --out FILE           write the store bundle of the load test's
                                       account and app (import: attestctl --store URL import FILE)
  attestload run [flags]               one bounded run; see attestload run -h
  attestload overload [flags]          the shedding check: probe, 3× open-loop, recovery

Targets must be loopback addresses unless --allow-remote is given.

Rate limits: ` + LimitsAdvice + `
`

// Main runs the attestload command with args; it returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "seed":
		err = seedCmd(args[1:], stdout, stderr)
	case "run":
		var failed bool
		failed, err = runCmd(ctx, args[1:], stdout, stderr)
		if err == nil && failed {
			return 1
		}
	case "overload":
		var failed bool
		failed, err = overloadCmd(ctx, args[1:], stdout, stderr)
		if err == nil && failed {
			return 1
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q", args[0])
		fmt.Fprint(stderr, usage)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "attestload:", err)
	return 1
}

var errUsage = errors.New("usage")

func seedCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attestload seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "-", "bundle file to write (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if *out == "-" {
		return WriteBundle(stdout, nil)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := WriteBundle(f, nil); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

// runFlags registers the flags of one run on fs.
func runFlags(fs *flag.FlagSet, c *Config, mix *string) {
	fs.StringVar(&c.Target, "target", "http://127.0.0.1:8080", "base URL of the edge (https:// for HTTP/3)")
	fs.StringVar(&c.Transport, "transport", TransportHTTP1, "http1 (fasthttp client) or http3 (quic-go)")
	fs.StringVar(&c.TLS.CAFile, "ca-file", "", "PEM CA certificates to trust for an https target")
	fs.BoolVar(&c.TLS.Insecure, "insecure", false, "do not verify the target's certificate (tests only)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.StringVar(&c.Admin, "target-admin", "", "admin base URL of the node (e.g. http://127.0.0.1:9090): report its CPU time and memory")
	fs.IntVar(&c.Workers, "workers", 0, "closed: workers (default 64); open: most operations in flight (default 256)")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "timeout of each HTTP request")
	fs.IntVar(&c.Devices, "devices", 1000, "device keys, used in turn")
	fs.StringVar(mix, "mix", DefaultMix, "evidence kinds by weight: pass, rooted, measurement, version, unknown_app, badsig, replay")
	fs.BoolVar(&c.Prefetch, "prefetch", false, "fetch the run's nonces before it starts, so that it sends attests only (the edge needs --nonce-ttl above the run's length)")
	fs.BoolVar(&c.Presign, "presign", false, "with --prefetch, also build and sign every request before the run, so that the run only sends")
	fs.IntVar(&c.PrefetchCount, "prefetch-count", 0, "how many nonces to prefetch (default: --requests, or rate × duration)")
}

// runHelp heads `attestload run -h`.
const runHelp = `usage: attestload run [flags]

One bounded run (--duration, --requests) against one node, closed or open
loop. The report's last line is its verdict on itself: whether every answer
was the one its evidence must get, and whether the run was mostly refused by
the node's rate limits (then its figures measure the limits; with --strict,
the exit status is 1). Replays (evidence kind replay) are reported apart
from the attest rate.

Rate limits: ` + LimitsAdvice + `

Flags:
`

// runCmd runs one run; failed is set when --strict was given and the run
// failed it (Report.Failed).
func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (failed bool, err error) {
	fs := flag.NewFlagSet("attestload run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runHelp)
		fs.PrintDefaults()
	}
	var c Config
	var mix string
	runFlags(fs, &c, &mix)
	fs.StringVar(&c.Mode, "mode", ModeClosed, "closed (workers as fast as answered) or open (fixed arrival rate)")
	fs.Float64Var(&c.Rate, "rate", 0, "open: operations (attests) started per second")
	fs.DurationVar(&c.Duration, "duration", 0, "run length (default 10s when --requests is not given)")
	fs.Int64Var(&c.Requests, "requests", 0, "number of operations (attests)")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	jsonOut := fs.String("json-out", "", "also write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	strict := fs.Bool("strict", false, "exit 1 when the run was mostly refused by rate limits, or any answer was unexpected")
	if err := fs.Parse(args); err != nil {
		return false, usageErr(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return false, errUsage
	}
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Mix, err = ParseMix(mix); err != nil {
		return false, err
	}
	if !*quiet {
		c.Progress = stderr
	}
	rep, err := Run(ctx, c)
	if err != nil {
		return false, err
	}
	if *jsonOut != "" {
		if err := writeJSONFile(*jsonOut, rep); err != nil {
			return false, err
		}
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	return *strict && rep.Failed(), err
}

func writeJSONFile(name string, rep *Report) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func overloadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) (failed bool, err error) {
	fs := flag.NewFlagSet("attestload overload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o OverloadConfig
	var mix string
	runFlags(fs, &o.Run, &mix)
	fs.StringVar(&o.Admin, "admin", "http://127.0.0.1:9090", "admin base URL of the node (for its resident memory)")
	fs.Float64Var(&o.Capacity, "capacity", 0, "attests/s the node serves (default: measure it closed-loop first)")
	fs.DurationVar(&o.Probe, "probe", 10*time.Second, "length of the capacity probe")
	fs.Float64Var(&o.Factor, "factor", 3, "overload as a multiple of the capacity")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "length of the overload")
	fs.DurationVar(&o.Recovery, "recovery", 10*time.Second, "length of the recovery phase at half the capacity")
	fs.DurationVar(&o.MaxAdmittedP99, "max-admitted-p99", 100*time.Millisecond, "bound on the p99 of admitted attests")
	fs.DurationVar(&o.MaxRefusedP99, "max-refused-p99", 10*time.Millisecond, "bound on the p99 of refusals")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	if err := fs.Parse(args); err != nil {
		return false, usageErr(err)
	}
	if o.Run.Mix, err = ParseMix(mix); err != nil {
		return false, err
	}
	o.Progress = stderr
	rep, err := Overload(ctx, o)
	if err != nil {
		return false, err
	}
	if *asJSON {
		err = writeJSON(stdout, rep)
	} else {
		err = rep.WriteText(stdout)
	}
	return len(rep.Violations) > 0, err
}
