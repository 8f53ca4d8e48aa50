package daemon

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/hint"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store"
)

// recordMetrics count the store states a node refused because their
// records do not verify (PROTOCOL §8, 1.1), and say whether it is
// refusing the newest state now.
type recordMetrics struct {
	refused    *prometheus.CounterVec
	refusing   prometheus.Gauge
	generation prometheus.Gauge

	mu  sync.Mutex
	why string // "" while the newest state is installed
}

func newRecordMetrics(reg prometheus.Registerer) *recordMetrics {
	m := &recordMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attestd_store_refused_total",
			Help: "Store states refused because their records do not verify under the master key, by reason (forged, mismatch, unauthenticated, rollback, unknown_key).",
		}, []string{"reason"}),
		refusing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attestd_store_refusing",
			Help: "1 while the newest store state is refused and the node serves the last one that verified.",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attestd_store_generation",
			Help: "Authenticated generation (manifest) of the store state served.",
		}),
	}
	reg.MustRegister(m.refused, m.refusing, m.generation)
	for _, r := range recordauth.Reasons() {
		m.refused.WithLabelValues(r)
	}
	return m
}

// refusal is why the newest store state is refused ("" when it is not).
func (m *recordMetrics) refusal() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.why
}

// errNotInstalled: the snapshot file's Accept for a state the registry
// did not install.
var errNotInstalled = errors.New("store state not installed by this node")

// acceptSnapshot is the store's Accept (which states its snapshot file
// keeps): the state installed; before the first, any state that would be.
func (d *Daemon) acceptSnapshot(raw *store.Snapshot) error {
	switch {
	case d.reg == nil:
		return errNotInstalled
	case d.reg.Installed(raw):
		return nil
	case d.reg.Ready():
		return errNotInstalled
	}
	return d.reg.Check(raw)
}

// refuse reports a store state whose records do not verify (the key
// follower's Refused): logged with what to do (but one waiting for a
// master key, which the follower logs),
// counted, and shown by /readyz until a state verifies. Other errors are
// not refusals and change nothing here.
func (d *Daemon) refuse(raw *store.Snapshot, err error) {
	reason := recordauth.Reason(err)
	if reason == "" {
		return
	}
	m := d.records
	m.refused.WithLabelValues(reason).Inc()
	m.refusing.Set(1)
	m.mu.Lock()
	m.why = fmt.Sprintf("store revision %d refused (%s); serving revision %d", raw.Revision, reason, d.reg.Revision())
	m.mu.Unlock()
	if reason == "unknown_key" {
		return // a rotation the node waits for: the key follower logs it
	}
	d.log.Error("store change refused: its records do not verify under the master key; serving the last state that did",
		"revision", raw.Revision, "reason", reason, "serving_revision", d.reg.Revision(), "err", err,
		"next", "see which records with: "+d.ctlHint("store", "verify")+"; restore them with attestctl, or see: "+hint.Command(ctlProgram(), "help", "store", "authenticate"))
}

// installed records that the newest state verified and is served.
func (d *Daemon) installed() {
	m := d.records
	m.refusing.Set(0)
	m.generation.Set(float64(d.reg.Generation()))
	m.mu.Lock()
	m.why = ""
	m.mu.Unlock()
}

// lastKnownGood reads the node's snapshot file (etcd with --snapshot) and
// verifies it: its generation is a floor the store may not go below, and
// it serves if the store's state is refused at start. A file that does not
// verify under the master key it names (edited) stops the start; one the
// keys cannot check (written before record authentication, or under a
// master key since retired) is ignored, and replaced once the store's
// state verifies.
func (d *Daemon) lastKnownGood() (*store.Snapshot, recordauth.Floor, error) {
	k, ok := d.raw.(store.LastKnownGood)
	if !ok {
		return nil, recordauth.Floor{}, nil
	}
	snap, err := k.LastKnownGood()
	if err != nil || snap == nil {
		if err != nil {
			d.log.Warn("snapshot file unreadable; ignored", "err", err)
		}
		return nil, recordauth.Floor{}, nil
	}
	res, err := recordauth.Verify(snap, d.keys, recordauth.Floor{})
	switch reason := recordauth.Reason(err); reason {
	case "":
		if err != nil {
			return nil, recordauth.Floor{}, err
		}
		return snap, res.Floor, nil
	case "forged", "mismatch":
		return nil, recordauth.Floor{}, fmt.Errorf("snapshot file %s does not verify (edited without the master key?): %w; "+
			"move it aside after investigating, and start again", d.cfg.Snapshot, err)
	default:
		d.log.Warn("snapshot file cannot be verified with this master key file; ignored until the store's state replaces it",
			"file", d.cfg.Snapshot, "reason", reason, "err", err)
		return nil, recordauth.Floor{}, nil
	}
}

// authHint says what to run when a store's records are not authenticated
// (written before attestd 1.1), as commands on this node's store.
func (d *Daemon) authHint(err error) string {
	if !errors.Is(err, recordauth.ErrUnauthenticated) {
		return ""
	}
	return fmt.Sprintf("; this node refuses to serve records it cannot authenticate: check the store, then tag its records "+
		"and start attestd again; check with: %s; tag with: %s", d.ctlHint("export"), d.ctlHint("store", "authenticate"))
}

// applied reports a store state the registry installed (the key
// follower's Applied).
func (d *Daemon) applied(snap *store.Snapshot) {
	d.installed()
	d.metrics.StoreSynced(snap.Revision)
	d.log.Info("store change applied", "revision", snap.Revision)
	d.deploymentChanged()
}
