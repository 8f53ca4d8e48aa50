package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// runner is one invocation's context: flags, streams and the store once
// opened.
type runner struct {
	cfg    Config
	g      globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	st   *recordauth.Store // writes authenticated under kr
	seal *envelope.Keyring
	// creates is set for the one command that may create a store (init);
	// every other refuses a store that does not exist (errNoStore).
	creates bool
}

// open opens the store named by --store (once per invocation). Unless
// r.creates, a store that does not exist is refused before anything is
// created (see existing).
func (r *runner) open(ctx context.Context) (*recordauth.Store, *envelope.Keyring, error) {
	if r.st != nil {
		return r.st, r.seal, nil
	}
	if !r.creates {
		if err := r.checkFileStore(); err != nil {
			return nil, nil, err
		}
	}
	st, kr, err := open.Open(ctx, r.g.storeURL, open.Options{MasterKeyFile: r.g.masterKey, Rand: r.cfg.Rand, Etcd: r.g.etcd})
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	auth := st.(*recordauth.Store)
	if !r.creates {
		auth = recordauth.Wrap(existing{Store: auth.Unwrap(), r: r}, auth.Keys())
	}
	r.st, r.seal = auth, kr
	return auth, kr, nil
}

func (r *runner) close() {
	if r.st != nil {
		_ = r.st.Close()
	}
}

// update opens the store and applies m atomically.
func (r *runner) update(ctx context.Context, m state.Mutation) (int64, error) {
	st, _, err := r.open(ctx)
	if err != nil {
		return 0, err
	}
	rev, err := st.Update(ctx, m)
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// snapshot opens the store and reads its records without their tags. A
// store that does not verify is still shown (an operator must be able to
// look at it), with a warning on stderr that names what does not verify.
func (r *runner) snapshot(ctx context.Context) (*store.Snapshot, error) {
	st, seal, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	res, err := recordauth.Verify(raw, seal, recordauth.Floor{})
	if err != nil {
		fmt.Fprintf(r.stderr, "attestctl: warning: the store does not verify, what follows may hold records written without the master key (see %s): %v\n", r.ctlHint("store", "verify"), err)
		return recordauth.Strip(raw), nil
	}
	return res.Snapshot, nil
}

// load opens the store and decodes it whole (records without their tags).
func (r *runner) load(ctx context.Context) (*store.Snapshot, *state.Registry, error) {
	_, seal, err := r.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	snap, err := r.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	reg, err := state.DecodeAll(snap, seal)
	if err != nil {
		return nil, nil, err
	}
	return snap, reg, nil
}

// printJSON writes v as indented JSON on stdout. secret.Value fields print
// as "[redacted]" whatever they hold.
func (r *runner) printJSON(v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(r.stdout, "%s\n", out)
	return err
}

// now is the configured clock.
func (r *runner) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}

// say writes one human line on stdout.
func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.stdout, format+"\n", args...)
}

// account loads the store and returns one decoded account (secrets opened,
// never printed), or ErrNotFound naming it.
func (r *runner) account(ctx context.Context, id string) (*model.Account, error) {
	_, reg, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	a := reg.Accounts[id]
	if a == nil {
		return nil, fmt.Errorf("%w: account %q", state.ErrNotFound, id)
	}
	return a, nil
}
