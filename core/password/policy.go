package password

import (
	"context"
	"errors"
)

// Candidate is a password offered for a new credential, with the context a policy may use.
// It has the shape of a password-policy plugin call.
type Candidate struct {
	// Password is the candidate password.
	Password string
	// Email is the account's email address (for context-word checks).
	Email string
	// Field is the request body field that holds the password, e.g. "newPassword"; policies use
	// it in validator-style messages ("body/newPassword must NOT have fewer than 8 characters").
	Field string
	// ServiceName is the issuer name, another context word.
	ServiceName string
}

// Verdict is a policy's answer.
type Verdict struct {
	// Accepted is true when the policy accepts the password.
	Accepted bool
	// Reasons are the user-facing messages of a refusal; the first is shown.
	Reasons []string
}

// Policy accepts or refuses a candidate password. Implementations are password-policy plugins
// run by the plugin host; an error (a plugin fault) must be treated as a refusal (fail closed).
type Policy interface {
	Check(ctx context.Context, c Candidate) (Verdict, error)
}

// Chain runs policies in order; all must accept. The first refusal or error stops the chain.
type Chain []Policy

// Check implements Policy.
func (ch Chain) Check(ctx context.Context, c Candidate) (Verdict, error) {
	if len(ch) == 0 {
		return Verdict{}, errors.New("password: no policy configured")
	}
	for _, p := range ch {
		v, err := p.Check(ctx, c)
		if err != nil {
			return Verdict{}, err
		}
		if !v.Accepted {
			return v, nil
		}
	}
	return Verdict{Accepted: true}, nil
}
