package platformcheck

import (
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// StatusPolicy says how old the Android status list may be (PROTOCOL.md
// §9, --android-status-max-age and --android-status-fail).
type StatusPolicy struct {
	// Configured: the deployment names a status list (--android-status).
	// Without one, the list is empty and never stale.
	Configured bool
	// MaxAge is the age past which the list in force is stale; 0 never.
	MaxAge time.Duration
	// FailClosed: while the list is stale (or none was ever loaded),
	// android-key evidence and android-key receipts are refused with
	// android_status_stale. Otherwise (fail open) they are checked against
	// the stale list, counted and logged.
	FailClosed bool
}

// statusState is the list in force and when it was fetched (a file's
// modification time).
type statusState struct {
	list *androidkey.StatusList
	at   time.Time
}

// SetStatus installs a new Android status list, fetched (or its file
// written) at at. A nil list is an empty one.
func (c *Checker) SetStatus(l *androidkey.StatusList, at time.Time) {
	c.status.Store(&statusState{list: l, at: at})
	if c.staleLogged.Swap(false) {
		c.cfg.Log.Info("android status list fresh again", "entries", l.Len(), "fetched", at)
	}
}

// StatusAge is the age of the list in force at now, and false when a list
// is configured and none was loaded yet.
func (c *Checker) StatusAge(now time.Time) (time.Duration, bool) {
	st := c.status.Load()
	if st == nil {
		return 0, !c.cfg.Status.Configured
	}
	return max(now.Sub(st.at), 0), true
}

// Uses of the status list, for the counters.
const (
	useEvidence = iota
	useReceipt
)

// statusFor returns the list to check a use against at now, and whether
// the use may be judged: false when the list is stale and the fail mode
// is closed. A stale use is counted, and the list's stale turn logged once.
func (c *Checker) statusFor(now time.Time, use int) (*androidkey.StatusList, bool) {
	st := c.status.Load()
	var list *androidkey.StatusList
	if st != nil {
		list = st.list
	}
	sp := c.cfg.Status
	if !sp.Configured || sp.MaxAge <= 0 {
		return list, true
	}
	age, loaded := c.StatusAge(now)
	if loaded && age <= sp.MaxAge {
		return list, true
	}
	if sp.FailClosed {
		c.stats.stale[use][1].Add(1)
	} else {
		c.stats.stale[use][0].Add(1)
	}
	if !c.staleLogged.Swap(true) {
		c.cfg.Log.Warn("android status list stale: older than --android-status-max-age, or none loaded yet",
			"age", age, "loaded", loaded, "max_age", sp.MaxAge, "fail_closed", sp.FailClosed)
	}
	return list, !sp.FailClosed
}

// counters are the checker's own counts (Stats).
type counters struct {
	stale          [2][2]atomic.Uint64 // [use][refused]
	legacyReceipts atomic.Uint64
}

// Stats are the checker's counts since it was made.
type Stats struct {
	// StaleEvidence and StaleReceipts count uses of a stale status list:
	// [0] accepted (fail open), [1] refused (fail closed).
	StaleEvidence, StaleReceipts [2]uint64
	// ReceiptsWithoutSerials counts uses of android-key receipts issued
	// before §9 (no serials to check against the list).
	ReceiptsWithoutSerials uint64
}

// Stats returns the checker's counts.
func (c *Checker) Stats() Stats {
	var s Stats
	for i := range 2 {
		s.StaleEvidence[i] = c.stats.stale[useEvidence][i].Load()
		s.StaleReceipts[i] = c.stats.stale[useReceipt][i].Load()
	}
	s.ReceiptsWithoutSerials = c.stats.legacyReceipts.Load()
	return s
}
