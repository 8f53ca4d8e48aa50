package androidkey

// VerifyWithChallenge is verify for tests: the expected attestationChallenge
// is given as is, so real vectors made with their own challenge can be fed.
var VerifyWithChallenge = verify
