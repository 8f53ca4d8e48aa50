package etcde2e

import (
	"testing"

	"github.com/attestd/attestd/internal/etcdtest"
)

// TestMain lets etcdtest re-execute this binary as an etcd member.
func TestMain(m *testing.M) { etcdtest.Main(m) }
