package daemon

import (
	"flag"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
)

// TestEverySettingHasItsFlagName: every field of Config (and of its
// nested settings) is named in logs by a flag attestd registers, so that
// an operator can find it in `attestd -h` and the configuration file. A
// field added without a flag of that name fails here.
func TestEverySettingHasItsFlagName(t *testing.T) {
	var f Flags
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerFlags(fs, &f)
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		fld := ct.Field(i)
		var names []string
		if _, nested := subSettings[fld.Name]; nested {
			for j := 0; j < fld.Type.NumField(); j++ {
				sub := fld.Type.Field(j)
				if !sub.IsExported() {
					continue
				}
				if n := settingFlag(fld.Name + "." + sub.Name); n != "" {
					names = append(names, n)
				}
			}
		} else {
			names = append(names, settingFlag(fld.Name))
		}
		for _, n := range names {
			if fs.Lookup(n) == nil {
				t.Errorf("Config.%s is logged as %q, which is no flag of attestd", fld.Name, n)
			}
		}
	}
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"Listen": "listen", "TLSListen": "tls-listen", "HTTP3Listen": "http3-listen", "HTTP3MaxConnsPerIP": "http3-max-conns-per-ip",
		"NonceTTL": "nonce-ttl", "MasterKey": "master-key", "ChallengeRate": "challenge-rate", "Pprof": "pprof",
		"PasswordFile": "password-file", "AllowPlaintextPassword": "allow-plaintext-password",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestReloadNamesSettingsByFlag: the settings a reload cannot apply are
// logged by their flag names.
func TestReloadNamesSettingsByFlag(t *testing.T) {
	a, err := DefaultFlags().Validate()
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.Listen = netip.MustParseAddrPort("127.0.0.1:8081")
	b.Issuer, b.Pyroscope.Password = "other", secret.FromString("x")
	b.Limits.AttestRate, b.Etcd.CAFile, b.Etcd.DialTimeout = 1, "ca.pem", time.Second
	b.HTTP3MaxConnsPerIP++
	b.LogLevel = "debug" // reloadable: not listed
	got := strings.Join(restartNeeded(a, b), ",")
	want := "listen,http3-max-conns-per-ip,issuer,attest-rate,etcd-ca,etcd-dial-timeout,pyroscope-password"
	if got != want {
		t.Fatalf("restartNeeded = %q, want %q", got, want)
	}
}
