package etcdstore

import (
	"fmt"
	"strings"
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
	problem     string    // the last failure to reach etcd ("" when none since contact)
	fromFile    string    // set while the data comes from the snapshot file
}

func newHealth(now func() time.Time, staleAfter time.Duration) *health {
	return &health{now: now, staleAfter: staleAfter}
}

// contact records that etcd confirmed the data current now.
func (h *health) contact() {
	h.mu.Lock()
	h.lastContact = h.now()
	h.problem, h.fromFile = "", ""
	h.mu.Unlock()
}

// fail records why the data may be stale from now on.
func (h *health) fail(problem string) {
	h.mu.Lock()
	h.problem = problem
	h.mu.Unlock()
}

// servingSnapshot records that the data comes from the snapshot file,
// current as of confirmedAt, until the next contact; note says so in every
// status until then, whatever fails meanwhile.
func (h *health) servingSnapshot(confirmedAt time.Time, note string) {
	h.mu.Lock()
	h.lastContact = confirmedAt
	h.fromFile, h.problem = note, ""
	h.mu.Unlock()
}

func (h *health) status() store.HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := store.HealthStatus{LastContact: h.lastContact}
	var why []string
	if h.fromFile != "" {
		why = append(why, h.fromFile)
	}
	switch {
	case h.problem != "":
		why = append(why, h.problem)
	case h.lastContact.IsZero():
		why = append(why, "not connected to etcd yet")
	default:
		if age := h.now().Sub(h.lastContact); age > h.staleAfter && h.fromFile == "" {
			why = append(why, fmt.Sprintf("no word from etcd for %v", age.Truncate(time.Second)))
		}
	}
	st.Degraded = strings.Join(why, "; ")
	return st
}
