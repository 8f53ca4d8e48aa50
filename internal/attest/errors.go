package attest

import "errors"

// errAccountMissing: an app names an account the registry does not have
// (the writer's validation prevents it; a torn read could not).
var errAccountMissing = errors.New("attest: account missing")
