package metrics

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// gauge reads one unlabelled gauge, and its help, from m's exposition.
func gauge(t *testing.T, m *Metrics, name string) (float64, string) {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	var help string
	for _, l := range strings.Split(w.Body.String(), "\n") {
		if h, ok := strings.CutPrefix(l, "# HELP "+name+" "); ok {
			help = h
		}
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f, help
		}
	}
	t.Fatalf("no %s in the exposition", name)
	return 0, ""
}

// TestLastSyncTimestampIsTheStoresLastConfirmation: an operator alerting
// on attestd_store_last_sync_timestamp_seconds reads it as the last time
// the node knew its data current, as attestd_store_sync_age_seconds does.
// It used to be set only when a snapshot was installed, so an idle, healthy
// file store (polled every 200 ms, confirming nothing changed) looked hours
// stale on it while its age read 0, and its help spoke of "contact".
func TestLastSyncTimestampIsTheStoresLastConfirmation(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var now, contact atomic.Int64
	now.Store(t0.UnixNano())
	m := New(func() time.Time { return time.Unix(0, now.Load()) }, nil)
	if ts, _ := gauge(t, m, "attestd_store_last_sync_timestamp_seconds"); ts != 0 {
		t.Fatalf("before any sync: %v", ts)
	}
	// Without a store's own confirmations: the snapshot installed.
	m.StoreSynced(5)
	now.Add(int64(12 * time.Second))
	ts, help := gauge(t, m, "attestd_store_last_sync_timestamp_seconds")
	age, _ := gauge(t, m, "attestd_store_sync_age_seconds")
	if ts != float64(t0.Unix()) || age != 12 {
		t.Fatalf("after an install: timestamp %v (want %d), age %v (want 12)", ts, t0.Unix(), age)
	}
	if !strings.Contains(help, "last confirmed the data served current") || strings.Contains(help, "contact") {
		t.Errorf("help %q does not say what the value is", help)
	}
	// A store that confirms on its own (a poll that found the state file
	// unchanged, 10 s after the install): both gauges follow it.
	contact.Store(t0.Add(10 * time.Second).UnixNano())
	m.SetContactSource(func() time.Time { return time.Unix(0, contact.Load()) })
	ts, _ = gauge(t, m, "attestd_store_last_sync_timestamp_seconds")
	age, _ = gauge(t, m, "attestd_store_sync_age_seconds")
	if ts != float64(t0.Unix()+10) || age != 2 {
		t.Fatalf("after a confirmation: timestamp %v (want %d), age %v (want 2)", ts, t0.Unix()+10, age)
	}
	if !m.LastSync().Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("LastSync %v", m.LastSync())
	}
	// A later install does not claim a confirmation the store did not make.
	m.StoreSynced(6)
	if ts, _ = gauge(t, m, "attestd_store_last_sync_timestamp_seconds"); ts != float64(t0.Unix()+10) {
		t.Fatalf("an install moved the timestamp to %v", ts)
	}
}
