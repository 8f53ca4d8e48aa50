package jsonscan

import (
	"strings"
	"testing"
)

// hostileValues are 61 KB values of the JSON the scanner reads slowest,
// per byte: the shapes of bench's BenchmarkHostileBody (short unknown
// members, short numbers, empty strings, arrays and objects, nesting 29
// deep), beside a plain string (the floor).
func hostileValues() []struct{ name, value string } {
	const pad = 61_000
	return []struct{ name, value string }{
		{"plain", `"` + strings.Repeat("A", pad) + `"`},
		{"utf8", `"` + strings.Repeat("é", pad/2) + `"`},
		{"escapes", `"` + strings.Repeat(`\n`, pad/2) + `"`},
		{"unicode-escapes", `"` + strings.Repeat(`\u00e9`, pad/6) + `"`},
		{"members", `{"b":0` + strings.Repeat(`,"a":0`, pad/6) + `}`},
		{"members-spaced", `{ "b" : 0` + strings.Repeat(` , "a" : 0`, pad/10) + ` }`},
		{"numbers", `[` + strings.Repeat(`0,`, pad/2) + `0]`},
		{"numbers-spaced", `[` + strings.Repeat(`0 ,`, pad/3) + `0]`},
		{"numbers-neg", `[` + strings.Repeat(`-1,`, pad/3) + `0]`},
		{"strings", `[` + strings.Repeat(`"",`, pad/3) + `""]`},
		{"empty-arrays", `[` + strings.Repeat(`[],`, pad/3) + `[]]`},
		{"empty-objects", `[` + strings.Repeat(`{},`, pad/3) + `{}]`},
		{"nesting", `[` + strings.Repeat(strings.Repeat("[", 29)+strings.Repeat("]", 29)+",", pad/59) + `0]`},
		{"literals", `[` + strings.Repeat(`true,`, pad/5) + `null]`},
	}
}

// BenchmarkSkipHostile is SkipValue (strict, depth 32) over hostileValues:
// what an unknown member of an attest body costs per byte at worst.
func BenchmarkSkipHostile(b *testing.B) {
	for _, v := range hostileValues() {
		in := []byte(v.value)
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if end, ok := SkipValue(in, 0, 0, MaxDepth, true); !ok || end != len(in) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkMembersHostile reads an object of 10,000 short unknown members
// with Members, skipping each value, as the attest core reads its body.
func BenchmarkMembersHostile(b *testing.B) {
	in := []byte(`{"b":0` + strings.Repeat(`,"a":0`, 61_000/6) + `}`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s := Scanner{B: in, UTF8: true}
		m := Members{S: &s}
		for m.Next() {
			if string(m.Name(nil)) == "nonce" {
				b.Fatal("nonce")
			}
			m.Err = s.Skip(1)
		}
		if m.Err != nil {
			b.Fatal(m.Err)
		}
	}
}
