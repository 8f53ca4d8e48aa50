#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian packages, the npm packages of interop/node), then runs
# `go test -race ./...`.
# Every test runs against loopback only. Takes well under 15 minutes on 2 cores;
# then the systemd units and the .deb are checked (make check-units check-deb).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages some tests drive as independent peers.
#   ngtcp2-client: gtlsclient, a non-quic-go HTTP/3 client
#   systemd:       systemd-analyze, to rate the unit's hardening
#   gcc:           builds the LD_PRELOAD shim that gives gtlsclient request headers
need=()
command -v gtlsclient >/dev/null 2>&1 || need+=(ngtcp2-client)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v make >/dev/null 2>&1 || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
      echo "scripts/test.sh: could not install ${need[*]}; the tests that need them will say so" >&2
  else
    echo "scripts/test.sh: not root; install ${need[*]} yourself for the tests that need them" >&2
  fi
fi

# The npm packages jose (a second, independent JOSE implementation) and
# http-message-signatures (RFC 9421), installed again whenever the lock
# file is newer than what npm installed.
if [ -f interop/node/package.json ] && { [ ! -f interop/node/node_modules/.package-lock.json ] ||
  [ interop/node/package-lock.json -nt interop/node/node_modules/.package-lock.json ]; }; then
  (cd interop/node && npm ci --no-audit --no-fund --silent) ||
    echo "scripts/test.sh: npm ci failed; the Node interop test will say so" >&2
fi

go test -race -timeout 30m -count=1 ./...

# The package as an operator installs it: the units as systemd reads them
# (verify, security rating, the shipped config, sysusers/tmpfiles modes)
# and the .deb's docs, links and copyright.
make check-units check-deb
