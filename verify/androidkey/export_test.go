package androidkey

// VerifyWithChallenge is verify for tests: the expected attestationChallenge
// is given as is, so real vectors made with their own challenge can be fed.
var VerifyWithChallenge = verify

// ParseStatusListMax is ParseStatusList with another bound on entries, so
// that a test can pass the bound without a list of a million entries.
var ParseStatusListMax = parseStatusList
