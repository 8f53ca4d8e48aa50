package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv"
)

func http1() Transport {
	return Transport{Name: "http1", HTTP: &http.Client{Timeout: 10 * time.Second}}
}

func TestProtocolErrorsHTTP1(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	runProtocolErrors(t, http1(), f, node)
}

func TestVerdictsHTTP1(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	runVerdicts(t, http1(), f, node)
}
