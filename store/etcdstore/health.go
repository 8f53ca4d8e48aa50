package etcdstore

import (
	"fmt"
	"sync"
	"time"

	"github.com/attestd/attestd/store"
)

// health tracks how fresh the node's data is. It is safe for concurrent
// use.
type health struct {
	now        func() time.Time
	staleAfter time.Duration

	mu          sync.Mutex
	lastContact time.Time // etcd last confirmed the data current
	problem     string    // why the data may be stale ("" when none is known)
}

func newHealth(now func() time.Time, staleAfter time.Duration) *health {
	return &health{now: now, staleAfter: staleAfter}
}

// contact records that etcd confirmed the data current now.
func (h *health) contact() {
	h.mu.Lock()
	h.lastContact = h.now()
	h.problem = ""
	h.mu.Unlock()
}

// fail records why the data may be stale from now on.
func (h *health) fail(problem string) {
	h.mu.Lock()
	h.problem = problem
	h.mu.Unlock()
}

// servingSnapshot records that the data comes from the snapshot file,
// current as of confirmedAt.
func (h *health) servingSnapshot(confirmedAt time.Time, problem string) {
	h.mu.Lock()
	h.lastContact = confirmedAt
	h.problem = problem
	h.mu.Unlock()
}

func (h *health) status() store.HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := store.HealthStatus{LastContact: h.lastContact}
	switch {
	case h.problem != "":
		st.Degraded = h.problem
	case h.lastContact.IsZero():
		st.Degraded = "not connected to etcd yet"
	default:
		if age := h.now().Sub(h.lastContact); age > h.staleAfter {
			st.Degraded = fmt.Sprintf("no word from etcd for %v", age.Truncate(time.Second))
		}
	}
	return st
}
