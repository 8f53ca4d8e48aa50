package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/attestd/attestd/store"
)

// healthInterval is how often the node looks at its store's health.
const healthInterval = time.Second

// watchHealth logs the store's health when it changes: "store degraded"
// (warn, with why) when the store stops confirming that the data served is
// current, and "store resumed" (info, with how long it was away) when it
// confirms it again; so an operator who saw the first line in the log also
// sees the second. A store that does not report its health logs nothing.
func (d *Daemon) watchHealth(ctx context.Context) error {
	h, ok := d.raw.(store.Health) // d.store authenticates writes; d.raw is the store itself
	if !ok {
		return nil
	}
	var w healthWatch
	return every(ctx, healthInterval, func() { w.observe(h.Health(), d.opts.Now(), d.log) })
}

// healthWatch remembers whether the store was degraded at the last look.
// Changes of the reason while it stays degraded are not logged (etcd's
// says how long it has been away, which changes every second).
type healthWatch struct {
	degraded bool
	since    time.Time // when it was first seen degraded
}

// observe logs a change of st since the last call.
func (w *healthWatch) observe(st store.HealthStatus, now time.Time, log *slog.Logger) {
	switch {
	case st.Degraded != "" && !w.degraded:
		w.degraded, w.since = true, now
		age := "unknown"
		if !st.LastContact.IsZero() {
			age = now.Sub(st.LastContact).Truncate(time.Second).String()
		}
		log.Warn("store degraded: serving the last data confirmed current", "why", st.Degraded, "data_age", age)
	case st.Degraded == "" && w.degraded:
		w.degraded = false
		log.Info("store resumed: the data served is current again", "degraded_for", now.Sub(w.since).Truncate(time.Millisecond).String())
	}
}
