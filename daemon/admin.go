package daemon

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"
	"time"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/store"
)

// adminMux serves the operator endpoints of PROTOCOL.md §8, on exact
// targets only (exactTargets).
func (d *Daemon) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch {
		case d.draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "draining")
		case !d.reg.Ready():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "store not loaded")
		default:
			ok, detail := d.storeFresh()
			if !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			detail = withRefusal(detail, d.records.refusal())
			fmt.Fprintf(w, "%s revision=%d\n", detail, d.reg.Revision())
		}
	})
	mux.Handle("GET /metrics", d.metrics.Handler())
	if d.cfg.Pprof {
		// Profiles of a live node, on the admin listener only, and only
		// when asked for: go tool pprof http://ADMIN/debug/pprof/profile?seconds=30
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return exactTargets(adminPaths(d.cfg.Pprof), mux)
}

// adminPaths are the admin listener's endpoints; with pprof, its index,
// handlers and the runtime's profiles (served by its index).
func adminPaths(withPprof bool) map[string]bool {
	paths := map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}
	if withPprof {
		for _, p := range []string{"", "cmdline", "profile", "symbol", "trace"} {
			paths["/debug/pprof/"+p] = true
		}
		for _, p := range rpprof.Profiles() {
			paths["/debug/pprof/"+p.Name()] = true
		}
	}
	return paths
}

// exactTargets refuses, with the bodies of PROTOCOL.md, a request whose
// target's path as sent is not exactly one of paths (not_found: dot,
// doubled and encoded segments included, which ServeMux would clean and
// redirect), and a method other than GET or HEAD (method_not_allowed).
// next sees only requests to paths.
func exactTargets(paths map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !paths[string(api.TargetPath([]byte(r.RequestURI)))]:
			writeAdminError(w, apierr.ErrNotFound)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			writeAdminError(w, apierr.ErrMethodNotAllowed)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func writeAdminError(w http.ResponseWriter, e *apierr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.AppendBody(nil))
}

// storeFresh says whether the data served is fresh enough to stay ready:
// a store that reports its health (etcd) may be away for up to
// MaxStaleness, during which the node is ready but degraded.
func (d *Daemon) storeFresh() (ok bool, detail string) {
	h, has := d.raw.(store.Health)
	if !has {
		return true, "ready"
	}
	st := h.Health()
	if st.Degraded == "" {
		return true, "ready"
	}
	age := d.opts.Now().Sub(st.LastContact).Truncate(time.Second)
	if st.LastContact.IsZero() || age > d.cfg.MaxStaleness {
		return false, fmt.Sprintf("stale: %s; data age %v exceeds --max-staleness %v", st.Degraded, age, d.cfg.MaxStaleness)
	}
	return true, fmt.Sprintf("ready, degraded: %s; data age %v", st.Degraded, age)
}

// withRefusal adds to /readyz's detail that the newest store state is
// refused (records that do not verify): the node stays ready, serving the
// last state that verified, but says it is degraded. Refusing is no reason
// to leave the load balancer: every node refuses the same state, and
// whoever can write the store could otherwise take the fleet down.
func withRefusal(detail, why string) string {
	switch {
	case why == "":
		return detail
	case detail == "ready":
		return "ready, degraded: " + why
	}
	return detail + "; " + why
}
