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

.PHONY: all build test deb check-deb check-units check-unit check-copyright clean

all: build

build:
	CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/attestd ./cmd/attestd
	CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/attestctl ./cmd/attestctl

test:
	./scripts/test.sh

# The .deb: binaries, units, sysusers/tmpfiles/sysctl files, the
# configuration (a conffile: config|noreplace), the operator docs and every
# doc they link to, the example bundle, and the Debian copyright file.
deb: build check-copyright
	VERSION='$(VERSION)' GOARCH='$(GOARCH)' $(GO) tool nfpm package \
		--config packaging/nfpm.yaml --packager deb --target $(DIST)/
	@ls -l $(DIST)/*.deb

# The .deb's docs link only to files it ships (packaging/check-deb).
check-deb: deb
	./packaging/check-deb $(DIST)/attestd_$(VERSION)_$(GOARCH).deb

# The units as systemd reads them, without systemd running: verify (against
# the built binary), the hardening rating (<= 2.0; a test in internal/h3e2e
# holds it too), the shipped config valid as it is, and, as root, the
# sysusers/tmpfiles files applied to a scratch root. See packaging/check-units.
check-units: build
	./packaging/check-units $(DIST)/attestd

check-unit: check-units

# Every Go module linked into the binaries has its stanza in the Debian
# copyright file (Files: vendor/MODULE/*); a new dependency needs one.
check-copyright: build
	@missing=$$($(GO) version -m $(DIST)/attestd $(DIST)/attestctl | \
		awk '$$1 == "dep" {print $$2}' | sort -u | \
		while read -r m; do grep -qxF "Files: vendor/$$m/*" packaging/copyright || echo "$$m"; done); \
	if [ -n "$$missing" ]; then \
		echo "packaging/copyright has no stanza for:" $$missing >&2; exit 1; \
	fi; echo "check-copyright: every linked module has a stanza"

clean:
	rm -rf $(DIST)
