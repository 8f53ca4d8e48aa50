# attestd: build, test and package. Every tool comes from the Go module
# proxy (nfpm is a `go tool` of go.mod) or Debian (scripts/test.sh).
GO      ?= go
GOARCH  ?= $(shell $(GO) env GOARCH)
# Debian versions must start with a digit: a tag v1.2.3 gives 1.2.3,
# an untagged tree 0.0.0~git<commit>.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//;s/-/+/g' || true)
ifeq ($(VERSION),)
VERSION := 0.0.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
endif
DIST    := dist
LDFLAGS := -s -w

.PHONY: all build test deb check-unit clean

all: build

build:
	CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/attestd ./cmd/attestd
	CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/attestctl ./cmd/attestctl

test:
	./scripts/test.sh

# The .deb: binaries, units, sysusers/tmpfiles/sysctl files, the example
# configuration (a conffile: config|noreplace) and the operator docs.
deb: build
	VERSION='$(VERSION)' GOARCH='$(GOARCH)' $(GO) tool nfpm package \
		--config packaging/nfpm.yaml --packager deb --target $(DIST)/
	@ls -l $(DIST)/*.deb

# The hardening rating of the unit (the test in internal/h3e2e holds it <= 2.0).
check-unit:
	systemd-analyze security --offline=yes systemd/attestd.service

clean:
	rm -rf $(DIST)
