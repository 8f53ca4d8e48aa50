package filestore

import (
	"sync"
	"time"

	"github.com/attestd/attestd/store"
)

var _ store.Health = (*Store)(nil)

// health is what the store's reads say of the data a node serves. A file
// store is on local disk: its data is current as of the last read or poll
// that found the state file and read it (or found it unchanged) without
// error, and stale from the first that failed. Safe for concurrent use.
type health struct {
	now         func() time.Time
	mu          sync.Mutex
	lastContact time.Time
	problem     string
}

// contact records that the state file was read, or found unchanged, now.
func (h *health) contact() {
	h.mu.Lock()
	h.lastContact, h.problem = h.now(), ""
	h.mu.Unlock()
}

// fail records why the data may be stale from now on.
func (h *health) fail(problem string) {
	h.mu.Lock()
	h.problem = problem
	h.mu.Unlock()
}

// Health implements store.Health: LastContact is the last read or poll
// that confirmed the data current (every PollInterval while Watch runs, so
// the age of a healthy store stays below it); Degraded is the failure of
// the polls since, if any. Times are Options.Now's.
func (s *Store) Health() store.HealthStatus {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return store.HealthStatus{LastContact: s.health.lastContact, Degraded: s.health.problem}
}
