package attest

import (
	"strings"
	"testing"
)

// BenchmarkParseRequestHostile is ParseRequest over a genuine body and
// over 61 KB bodies of the JSON it reads slowest per byte: 10,000 short
// unknown members of the body itself ("a":0) or of its
// platform_attestation object, beside a body padded with a plain string
// (the floor).
func BenchmarkParseRequestHostile(b *testing.B) {
	const pad = 61_000
	members := strings.Repeat(`"a":0,`, pad/6)
	for _, in := range []struct{ name, body string }{
		{"genuine", validBody()},
		{"plain", `{"pad":"` + strings.Repeat("A", pad) + `",` + validBody()[1:]},
		{"members", `{` + members + validBody()[1:]},
		{"members-in-evidence", strings.Replace(validBody(), `"receipt":"r"`, members+`"receipt":"r"`, 1)},
		{"numbers", `{"pad":[` + strings.Repeat(`0,`, pad/2) + `0],` + validBody()[1:]},
	} {
		body := []byte(in.body)
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var r Request
			for b.Loop() {
				if err := ParseRequest(body, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
