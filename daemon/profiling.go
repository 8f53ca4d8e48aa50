package daemon

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/grafana/pyroscope-go"
)

// version is the running build: the module version, or the VCS revision
// of a development build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// startProfiling starts continuous profiling when a Pyroscope server is
// configured (off by default). Tags are low-cardinality: node, region and
// version only. GC runs forced between heap profiles are disabled, as
// they would add latency to the serving path.
func startProfiling(cfg Config, ver string) (*pyroscope.Profiler, error) {
	if cfg.Pyroscope.Server == "" {
		return nil, nil
	}
	node := cfg.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName:   "attestd",
		ServerAddress:     cfg.Pyroscope.Server,
		BasicAuthUser:     cfg.Pyroscope.User,
		BasicAuthPassword: string(cfg.Pyroscope.Password.Reveal()),
		Tags:              profileTags(node, cfg.Region, ver),
		DisableGCRuns:     true,
		ProfileTypes: []pyroscope.ProfileType{pyroscope.ProfileCPU, pyroscope.ProfileAllocObjects,
			pyroscope.ProfileAllocSpace, pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace},
	})
	if err != nil {
		return nil, fmt.Errorf("pyroscope: %w", err)
	}
	return p, nil
}

func profileTags(node, region, ver string) map[string]string {
	t := map[string]string{"node": node, "version": ver}
	if region != "" {
		t["region"] = region
	}
	return t
}
