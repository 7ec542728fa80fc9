// Package failure defines the domain errors of Gatehouse: each carries the HTTP status and
// the message code of the API contract, so the HTTP layer only maps and never decides.
package failure

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Error is a domain error that a client may see. Code is API: it never changes once shipped.
type Error struct {
	// Status is the HTTP status code the API answers with.
	Status int
	// Code is the message code or sentence of the error envelope.
	Code string
	// RetryAfter is set on 429 errors: how long the client must wait.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%d %s (retry after %s)", e.Status, e.Code, e.RetryAfter)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Code)
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, as the API reports it.
func (e *Error) RetryAfterSeconds() int64 {
	if e.RetryAfter <= 0 {
		return 0
	}
	return int64(math.Ceil(e.RetryAfter.Seconds()))
}

// New returns an Error with the given status and code.
func New(status int, code string) *Error { return &Error{Status: status, Code: code} }

// BadRequest returns a 400 error with a validator-style or policy message.
func BadRequest(message string) *Error { return New(400, message) }

// Unauthorized returns a 401 error with a message code.
func Unauthorized(code string) *Error { return New(401, code) }

// Forbidden returns a 403 error with a message code.
func Forbidden(code string) *Error { return New(403, code) }

// Conflict returns a 409 error with a message code.
func Conflict(code string) *Error { return New(409, code) }

// TooManyRequests returns a 429 error that tells the client how long to wait.
func TooManyRequests(code string, wait time.Duration) *Error {
	return &Error{Status: 429, Code: code, RetryAfter: wait}
}

// Internal returns a 500 error with a message code the client may act on
// (for example NO_PASSWORD_INFO or PLUGIN_FAILED).
func Internal(code string) *Error { return New(500, code) }

// Unavailable returns a 503 error.
func Unavailable(code string) *Error { return New(503, code) }

// As reports whether err is or wraps a domain Error and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Message codes shared by several packages. Codes used in one place are written there.
const (
	CodePasswordIncorrect   = "PASSWORD_INCORRECT"
	CodeTooManyPassword     = "TOO_MANY_FAILED_PASSWORD_CHECKS"
	CodeNoPasswordInfo      = "NO_PASSWORD_INFO"
	CodeNoToken             = "NO_TOKEN_PROVIDED"
	CodeInvalidToken        = "INVALID_TOKEN"
	CodeTokenExpired        = "TOKEN_EXPIRED"
	CodeTokenRevoked        = "TOKEN_REVOKED"
	CodeWrongTokenType      = "WRONG_TOKEN_TYPE"
	CodeTwoFactorRequired   = "2FA_REQUIRED"
	CodeSudoTokenRequired   = "SUDO_TOKEN_REQUIRED"
	CodeRegistrationClosed  = "REGISTRATION_CLOSED"
	CodeEmailAlreadyInUse   = "EMAIL_ALREADY_IN_USE"
	CodeHashingUnavailable  = "TOO_MANY_PASSWORD_HASHES_IN_PROGRESS"
	CodeInternal            = "INTERNAL_ERROR"
	CodeForbiddenMailDomain = "FORBIDDEN_MAIL_PROVIDER"
)
