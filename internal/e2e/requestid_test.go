package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/logbuf"
)

// lineWithID returns the JSON log lines that carry request_id id.
func lineWithID(t *testing.T, logs, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, id) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

// requestIDOptions: JSON logs at info into logs, every failure logged (no
// sampling), one attest per device key (burst 1), so that the third case
// of the table is a rate-limit refusal.
func requestIDOptions(o testenv.Options, logs *logbuf.Buffer) testenv.Options {
	o.Log, o.LogLevel = logs, "info"
	prev := o.Edit
	o.Edit = func(c *daemon.Config) {
		if prev != nil {
			prev(c)
		}
		c.LogFormat, c.VerdictLogEvery = "json", 1
		c.Limits = limit.Config{AttestRate: 0.001, AttestBurst: 1}
	}
	return o
}

func TestRequestIDInLogsHTTP1(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	logs := &logbuf.Buffer{}
	node := testenv.StartNode(t, s, requestIDOptions(testenv.Options{}, logs))
	runRequestIDLogs(t, &env{t: t, f: f, node: node, tr: http1()}, logs, s)
}

func TestRequestIDInLogsHTTP3(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	tr, o := http3(t)
	logs := &logbuf.Buffer{}
	node := testenv.StartNode(t, s, requestIDOptions(o, logs))
	runRequestIDLogs(t, &env{t: t, f: f, node: node, tr: tr}, logs, s)
}

// runRequestIDLogs sends attests that fail in each way a client could
// complain about, each with its own X-Request-Id, and finds the log line
// that says why under the id the node answered (its own, never the
// client's, which the line carries as client_request_id): a failed verdict
// with its reasons, a protocol error, a rate-limit refusal, a malformed
// body. No line holds a secret.
func runRequestIDLogs(t *testing.T, e *env, logs *logbuf.Buffer, s *testenv.Store) {
	post := func(id string, c *client.Client, body []byte, sig string) answer {
		t.Helper()
		if sig == "" {
			var err error
			if sig, err = c.Sign(body); err != nil {
				t.Fatal(err)
			}
		}
		a := e.do("POST", "/v1/attest", "application/json", body, map[string]string{"Attest-Signature": sig, "X-Request-Id": id})
		if got := a.header.Get("X-Request-Id"); got == "" || got == id {
			t.Errorf("%s: answer's X-Request-Id = %q, want the node's own", id, got)
		}
		return a
	}
	fresh := func(ev client.Evidence) (*client.Client, []byte) {
		c := e.client(testenv.App)
		return c, e.body(c, e.nonce(c), ev)
	}
	tr := e.tr.Name
	cases := []struct {
		name, id string
		run      func(id string) answer
		status   int
		want     map[string]string // log attributes of the line
		reason   string            // in the line's reason, when set
	}{
		{"verdict-failed", "rid-" + tr + "-verdict", func(id string) answer {
			c, b := fresh(client.Evidence{Integrity: client.Integrity{Rooted: true, Emulator: true}})
			return post(id, c, b, "")
		}, 200, map[string]string{"msg": "verdict failed", "reasons": "rooted,emulator", "level": "INFO"}, ""},
		{"signature-invalid", "rid-" + tr + "-sig", func(id string) answer {
			c, b := fresh(client.Evidence{})
			other := e.client(testenv.App)
			sig, err := other.Sign(b)
			if err != nil {
				t.Fatal(err)
			}
			return post(id, c, b, sig)
		}, 401, map[string]string{"msg": "attest refused", "code": "signature_invalid"}, "devicekey: invalid signature"},
		{"rate-limited", "rid-" + tr + "-rate", func(id string) answer {
			c, b := fresh(client.Evidence{})
			if a := post(id+"-first", c, b, ""); a.status != 200 {
				t.Fatalf("first attest of the device: %d %s", a.status, a.body)
			}
			return post(id, c, e.body(c, e.nonce(c), client.Evidence{}), "")
		}, 429, map[string]string{"msg": "attest refused", "code": "rate_limited"}, ""},
		{"bad-request", "rid-" + tr + "-bad", func(id string) answer {
			c, _ := fresh(client.Evidence{})
			return post(id, c, []byte(`{"nonce": 7}`), "")
		}, 400, map[string]string{"msg": "attest refused", "code": "bad_request"}, "nonce: must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.run(tc.id)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			// The node's id, answered, finds the line; the client's is beside it.
			nodeID := a.header.Get("X-Request-Id")
			lines := lineWithID(t, logs.String(), nodeID)
			if len(lines) != 1 {
				t.Fatalf("%d log lines with request_id %q, want 1; logs:\n%s", len(lines), nodeID, logs.String())
			}
			l := lines[0]
			if l["client_request_id"] != tc.id {
				t.Errorf("line %v: client_request_id = %v, want %q", l, l["client_request_id"], tc.id)
			}
			for k, v := range tc.want {
				if l[k] != v {
					t.Errorf("line %v: %s = %v, want %q", l, k, l[k], v)
				}
			}
			if r, _ := l["reason"].(string); tc.reason != "" && !strings.Contains(r, tc.reason) {
				t.Errorf("line %v: reason lacks %q", l, tc.reason)
			}
		})
	}
	for _, n := range testenv.SecretNeedles(t, e.f, s) {
		if strings.Contains(logs.String(), n) {
			t.Error("secret material in the logs")
		}
	}
}
