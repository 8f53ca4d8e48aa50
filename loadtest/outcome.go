package loadtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	endpointChallenge = "challenge"
	endpointAttest    = "attest"
)

// stats are a run's counters; safe for concurrent use.
type stats struct {
	op         Histogram // operation latency: from its due time (open) or start (closed) to the attest's answer
	latency    map[string]*Histogram
	attests    atomic.Uint64
	challenges atomic.Uint64
	errors     atomic.Uint64
	refused    atomic.Uint64
	unsent     atomic.Uint64
	replays    atomic.Uint64 // attests that replayed a used nonce
	// rateLimited counts 429 answers by endpoint (challenge, attest);
	// overloaded counts 503 answers.
	rateLimitedChallenges atomic.Uint64
	rateLimitedAttests    atomic.Uint64
	overloaded            atomic.Uint64
	exhausted             atomic.Bool

	mu         sync.Mutex
	outcomes   map[string]uint64 // by label
	unexpected map[string]uint64 // "kind → label" that the kind should not get
	errorCodes map[string]uint64 // "endpoint status code"
	retryAfter map[string]uint64
}

// Latency series kept besides the operation's.
const (
	latChallenge      = "challenge"
	latAttest         = "attest"
	latAttestAdmitted = "attest_admitted" // attests answered 200
	latRefused        = "refused"         // requests answered 429 or 503
)

func newStats() *stats {
	s := &stats{latency: map[string]*Histogram{}, outcomes: map[string]uint64{}, unexpected: map[string]uint64{},
		errorCodes: map[string]uint64{}, retryAfter: map[string]uint64{}}
	for _, n := range []string{latChallenge, latAttest, latAttestAdmitted, latRefused} {
		s.latency[n] = new(Histogram)
	}
	return s
}

// record counts one answer (or transport error) of an endpoint.
func (s *stats) record(endpoint string, a *answer, err error, label string, d time.Duration) {
	s.latency[endpoint].Record(d)
	refused := err == nil && (a.status == 429 || a.status == 503)
	if err == nil && a.status == 200 && endpoint == endpointAttest {
		s.latency[latAttestAdmitted].Record(d)
	}
	if refused {
		s.refused.Add(1)
		s.latency[latRefused].Record(d)
		switch {
		case a.status == 503:
			s.overloaded.Add(1)
		case endpoint == endpointChallenge:
			s.rateLimitedChallenges.Add(1)
		default:
			s.rateLimitedAttests.Add(1)
		}
	}
	if err == nil && a.status == 200 {
		return
	}
	s.errors.Add(1)
	s.mu.Lock()
	s.errorCodes[endpoint+" "+strings.TrimPrefix(strings.TrimPrefix(label, "error:"), "transport:")+statusSuffix(a, err)]++
	if refused {
		s.retryAfter[a.retryAfter]++
	}
	s.mu.Unlock()
}

func statusSuffix(a *answer, err error) string {
	if err != nil {
		return " (transport)"
	}
	return " (" + strconv.Itoa(a.status) + ")"
}

// outcome counts what an attest of kind k got.
func (s *stats) outcome(k Kind, label string) {
	s.mu.Lock()
	s.outcomes[label]++
	if label != k.Expected() {
		s.unexpected[k.String()+" → "+label]++
	}
	s.mu.Unlock()
}

// classify labels an answer: "verdict:REASON" for a 200 with a token
// ("verdict:pass" when arc is empty, "verdict:app_unknown" for the decoy
// of an unregistered app, "verdict:unannotated" when the account does not
// annotate), "error:CODE" for an error answer, "transport:WHAT" when no
// answer came.
func classify(a *answer, err error) string {
	if err != nil {
		return "transport:" + transportError(err)
	}
	if a.status != 200 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(a.body, &e) != nil || e.Error == "" {
			return "error:status_" + strconv.Itoa(a.status)
		}
		return "error:" + e.Error
	}
	if bytes.HasPrefix(a.body, []byte(`{"nonce":`)) {
		return "ok"
	}
	return "verdict:" + verdictOf(a.body)
}

// verdictOf reads the token of an attest answer: its arc, or app_unknown
// for the decoy of an unregistered app.
func verdictOf(body []byte) string {
	var ans struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(body, &ans) != nil {
		return "undecodable_answer"
	}
	parts := strings.Split(ans.Token, ".")
	if len(parts) != 3 {
		return "undecodable_token"
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "undecodable_token"
	}
	var c struct {
		Aud string  `json:"aud"`
		Arc *string `json:"arc"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return "undecodable_token"
	}
	switch {
	case c.Aud == "unknown":
		return "app_unknown"
	case c.Arc == nil:
		return "unannotated"
	case *c.Arc == "":
		return "pass"
	}
	return *c.Arc
}

func nonceOf(body []byte) (string, error) {
	var ch struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(body, &ch); err != nil || ch.Nonce == "" {
		return "", errors.New("challenge answer without a nonce")
	}
	return ch.Nonce, nil
}

// transportError names a transport failure briefly, for counting.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "timeout"):
		return "timeout"
	case strings.Contains(err.Error(), "no free connections"):
		return "no_free_connections"
	}
	return "other"
}
