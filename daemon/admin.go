package daemon

import (
	"fmt"
	"net/http"
)

// adminMux serves the operator endpoints of PROTOCOL.md §8.
func (d *Daemon) adminMux() *http.ServeMux {
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
			fmt.Fprintf(w, "ready revision=%d\n", d.reg.Revision())
		}
	})
	mux.Handle("GET /metrics", d.metrics.Handler())
	return mux
}
