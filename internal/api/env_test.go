package api_test

import (
	"context"
	"crypto/rand"
	"net/netip"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store/open"
)

// oddAccount is an account id that a client must percent-encode in a
// path ('?', '%', '#' and a space-free mix model.ValidateID allows).
const oddAccount = "we?ird%#id"

// oddAccountPath is its JWKS path as a careful client sends it.
const oddAccountPath = "/v1/accounts/we%3Fird%25%23id/jwks.json"

// newHandler builds the router as the daemon does, over a real file store
// holding the test registry (plus oddAccount), a registry view and the
// attest core: nothing is mocked.
func newHandler(tb testing.TB) *api.Handler {
	tb.Helper()
	f := testenv.NewFixture(tb)
	odd := f.Bundle.Accounts[1] // the ES256 account, under another id
	odd.ID = oddAccount
	f.Bundle.Accounts = append(f.Bundle.Accounts, odd)
	st := testenv.NewStore(tb, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, sealer, err := open.Open(ctx, st.URL, open.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Sealer: sealer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(reg.Close)
	if err := reg.Swap(snap); err != nil {
		tb.Fatal(err)
	}
	rs, err := replay.New(replay.Config{MaxEntries: 1 << 16, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	edge, err := attest.New(attest.Config{Now: time.Now, Rand: rand.Reader, Registry: reg, Replay: rs})
	if err != nil {
		tb.Fatal(err)
	}
	return api.New(api.Config{Edge: edge, Accounts: reg})
}

// serve answers one request through h directly (no transport).
func serve(h *api.Handler, method, path string, body []byte) api.Response {
	var resp api.Response
	h.Serve(context.Background(), &api.Request{Method: []byte(method), Path: []byte(path), Body: body,
		RemoteIP: netip.MustParseAddr("127.0.0.1")}, &resp)
	return resp
}
