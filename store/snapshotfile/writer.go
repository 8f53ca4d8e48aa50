package snapshotfile

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/store"
)

// Defaults of WriterConfig.
const (
	DefaultInterval      = time.Second
	DefaultTouchInterval = time.Minute
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Path is the snapshot file; Source is written into it (see File).
	Path, Source string
	// Interval is the least time between two writes (default
	// DefaultInterval): snapshots offered in between are coalesced and
	// only the latest is written.
	Interval time.Duration
	// TouchInterval is the least time between two confirmations recorded
	// on the file (default DefaultTouchInterval).
	TouchInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnError, when set, hears about failed writes (the writer retries
	// with the next snapshot or confirmation).
	OnError func(error)
}

// Writer writes the snapshots a store follows to the snapshot file in the
// background, at most once per Interval, and records confirmations that
// the data is still current. Offer and Confirmed are safe for concurrent
// use and never block; Run does the I/O on its own goroutine.
type Writer struct {
	cfg       WriterConfig
	kick      chan struct{}
	pending   atomic.Pointer[store.Snapshot]
	confirmed atomic.Int64 // unix nanoseconds of the last confirmation not yet recorded
	writes    atomic.Int64

	// Owned by Run's goroutine.
	lastWrite, lastTouch time.Time
	dirty                bool // the last write failed: the file is older than memory
}

// NewWriter returns a Writer; start it with Run.
func NewWriter(cfg WriterConfig) *Writer {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = DefaultTouchInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Writer{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Offer schedules snap to be written; a later Offer before the write
// replaces it.
func (w *Writer) Offer(snap *store.Snapshot) {
	w.pending.Store(snap)
	w.signal()
}

// Confirmed records that the store confirmed the data offered last is
// current now.
func (w *Writer) Confirmed() {
	w.confirmed.Store(w.cfg.Now().UnixNano())
	w.signal()
}

// Writes is the number of snapshot files written so far.
func (w *Writer) Writes() int64 { return w.writes.Load() }

func (w *Writer) signal() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run writes until ctx ends, then writes what is still pending and
// returns.
func (w *Writer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			w.flush()
			return
		case <-w.kick:
		}
		if wait := w.cfg.Interval - w.cfg.Now().Sub(w.lastWrite); w.pending.Load() != nil && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				w.flush()
				return
			case <-t.C:
			}
		}
		w.flush()
	}
}

// flush writes the pending snapshot, or records a confirmation when
// nothing is pending and the file holds what memory holds.
func (w *Writer) flush() {
	if snap := w.pending.Swap(nil); snap != nil {
		at := w.cfg.Now()
		if err := Write(w.cfg.Path, File{Snapshot: snap, Source: w.cfg.Source, ConfirmedAt: at}); err != nil {
			w.dirty = true
			w.pending.CompareAndSwap(nil, snap) // retried on the next signal
			w.report(err)
			return
		}
		w.writes.Add(1)
		w.dirty = false
		w.lastWrite, w.lastTouch = at, at
		return
	}
	c := w.confirmed.Load()
	if c == 0 || w.dirty {
		return
	}
	at := time.Unix(0, c)
	if at.Sub(w.lastTouch) < w.cfg.TouchInterval {
		return
	}
	if err := Touch(w.cfg.Path, at); err != nil {
		w.report(err)
		return
	}
	w.confirmed.CompareAndSwap(c, 0)
	w.lastTouch = at
}

func (w *Writer) report(err error) {
	if w.cfg.OnError != nil {
		w.cfg.OnError(err)
	}
}
