// Package bench holds the end-to-end benchmark suites of attestd, each
// measured beside its baseline in the same run, and the allocation budgets
// of the hot paths as tests. It has no code of its own: everything is in
// the _test.go files.
//
//	go test -run='^$' -bench=. -benchmem -count=6 ./bench/ | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
//
// Names are fixed (see README.md) so figures compare across versions:
// BenchmarkAttest/{HS256,ES256,EdDSA} against BenchmarkAttestFloor,
// BenchmarkChallenge, BenchmarkTokenVerify/{HS256,ES256} against
// BenchmarkGolangJWT/{HS256,ES256}, BenchmarkRequestSignatureVerify/{HS256,ES256}
// against BenchmarkRequestSignatureVerifyFloor, and BenchmarkHTTPAttest and
// BenchmarkHTTPChallenge against BenchmarkFasthttpHello.
//
// Nobody imports this package.
package bench
