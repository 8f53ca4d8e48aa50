package replay

// Seen reports whether the pair (id, expiresAt) was used and is still
// remembered, or is claimed by a request in flight. It does not record
// anything: the core asks Seen before it verifies a request's signature
// and calls Use only after, so that a request with a bad signature never
// uses a nonce up (PROTOCOL §2).
func (s *Set) Seen(id ID, expiresAt int64) bool {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, used := sh.buckets[expiresAt][id]
	_, claimed := sh.claimed[id]
	return used || claimed
}

// Claim marks id as being decided by one request, until Release: while it
// is claimed, Seen reports it and Claim refuses it, so that requests racing
// one nonce do not all do the work of a verdict (the platform check above
// all) before one of them uses it. It returns false when the pair is used
// or id already claimed. The caller must Release what it claimed, whether
// it went on to Use the pair or not. Claims are not pairs: they count in
// no budget, and there are at most as many as requests in flight.
func (s *Set) Claim(id ID, expiresAt int64) bool {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, used := sh.buckets[expiresAt][id]; used {
		return false
	}
	if _, claimed := sh.claimed[id]; claimed {
		return false
	}
	sh.claimed[id] = struct{}{}
	return true
}

// Release ends the claim on id.
func (s *Set) Release(id ID) {
	sh := &s.shards[shardOf(id)]
	sh.mu.Lock()
	delete(sh.claimed, id)
	sh.mu.Unlock()
}
