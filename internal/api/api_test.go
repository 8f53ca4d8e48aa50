package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

// brokenAccounts fails every lookup, as a store that cannot be read would.
type brokenAccounts struct{}

func (brokenAccounts) Account(string) (*registry.Account, bool, error) {
	return nil, false, errors.New("registry: account acme: cannot decode record")
}

type ridKey struct{}

// ridHandler adds the request id found in the context to each record, the
// way the daemon's log handler does.
type ridHandler struct{ slog.Handler }

func (h ridHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(ridKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// TestInternalFailureLoggedWithTheRequest: a failure inside the edge is
// answered with the public internal error only (its cause never in the
// answer), and logged once, with the cause, the endpoint and the request id
// from the request's context.
func TestInternalFailureLoggedWithTheRequest(t *testing.T) {
	var logs bytes.Buffer
	h := New(Config{Accounts: brokenAccounts{}, Log: slog.New(ridHandler{slog.NewTextHandler(&logs, nil)})})
	ctx := context.WithValue(context.Background(), ridKey{}, "rid-42")
	var resp Response
	h.Serve(ctx, &Request{Method: []byte("GET"), Path: []byte("/v1/accounts/acme/jwks.json")}, &resp)
	if resp.Status != 500 || resp.Code != apierr.Internal {
		t.Fatalf("answer %d %q: %s", resp.Status, resp.Code, resp.Body)
	}
	if bytes.Contains(resp.Body, []byte("cannot decode")) {
		t.Fatalf("the cause reached the answer: %s", resp.Body)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{`msg="request failed"`, "endpoint=jwks", "cannot decode record", "request_id=rid-42"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
}
