package replay

// Seen reports whether the pair (id, expiresAt) was used and is still
// remembered. It does not record anything: the core asks Seen before it
// verifies a request's signature and calls Use only after, so that a
// request with a bad signature never uses a nonce up (PROTOCOL §2).
func (s *Set) Seen(id ID, expiresAt int64) bool {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, used := sh.buckets[expiresAt][id]
	return used
}
