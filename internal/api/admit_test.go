package api

import (
	"context"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/limit"
)

type seen struct{ endpoint, code []string }

func (s *seen) Request(endpoint string, status int, code apierr.Code, _ time.Duration) {
	s.endpoint = append(s.endpoint, endpoint)
	s.code = append(s.code, string(code))
}

// TestAdmitBeforeTheBodyCountsOnce: a request admitted before its body is
// read holds one place among the requests in flight until released; past
// the bound Admit answers overloaded (and the observer sees it); the
// Handler AdmittedFirst returns serves an admitted request without taking
// a second place.
func TestAdmitBeforeTheBodyCountsOnce(t *testing.T) {
	l, err := limit.New(limit.Config{MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	obs := &seen{}
	h := New(Config{Limits: l, Observer: obs})
	first := h.AdmittedFirst()
	ctx := context.Background()
	var resp Response
	release, ok := h.Admit(ctx, []byte("/v1/attest"), &resp)
	if !ok || l.InFlight() != 1 {
		t.Fatalf("first admit: ok %v, in flight %d", ok, l.InFlight())
	}
	if _, ok := h.Admit(ctx, []byte("/v1/attest"), &resp); ok || resp.Status != 503 || resp.Code != apierr.Overloaded || resp.RetryAfter == 0 {
		t.Errorf("second admit past the bound: ok %v, %d %s retry %d", ok, resp.Status, resp.Code, resp.RetryAfter)
	}
	resp.Reset()
	first.Serve(ctx, &Request{Method: []byte("GET"), Path: []byte("/nope")}, &resp)
	if resp.Status != 404 || l.InFlight() != 1 {
		t.Errorf("serving the admitted request: %d, in flight %d (want 404 and still 1)", resp.Status, l.InFlight())
	}
	resp.Reset()
	h.Serve(ctx, &Request{Method: []byte("GET"), Path: []byte("/nope")}, &resp)
	if resp.Status != 503 {
		t.Errorf("h.Serve itself still admits: %d", resp.Status)
	}
	release()
	if l.InFlight() != 0 {
		t.Errorf("in flight after release: %d", l.InFlight())
	}
	if len(obs.code) < 1 || obs.endpoint[0] != EndpointAttest || obs.code[0] != string(apierr.Overloaded) {
		t.Errorf("observed %v %v", obs.endpoint, obs.code)
	}
}
