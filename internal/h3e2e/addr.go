package h3e2e

import "net/netip"

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
