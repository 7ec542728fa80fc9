package api

import (
	"time"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/mail"
)

var (
	verifyEmailField = Field{Name: "email", MaxLength: 256, Format: "email", Description: "the account's address; required without a token, ignored with one"}
	verifyBody       = &Schema{Fields: []Field{otpField, verifyEmailField}}
	verifySendBody   = &Schema{Fields: []Field{verifyEmailField}}
	deleteBody       = &Schema{Fields: []Field{{Name: "password", MaxLength: 256, Description: "the account's password: required with an access token (an account without 2FA), ignored with a sudo token"}}}
)

// addressOf is the address an AccessOrNone route works on without a token: the body's email,
// which is then required.
func addressOf(req *Request) (string, error) {
	if req.principal() != nil {
		return "", nil
	}
	email, ok := req.Body["email"]
	if !ok {
		return "", failure.BadRequest("body must have required property 'email'")
	}
	return email, nil
}

// exampleTime is the time of the documentation's examples.
var exampleTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var sessionParams = &Schema{Fields: []Field{{Name: "id", Required: true, MaxLength: 64, Description: "the session's id as GET /user/sessions lists it"}}}

// AccountRoutes returns the account holder's own routes: the account, its sessions, its
// address verification, and its deletion through erase (the admin service's).
func AccountRoutes(a *auth.Service, erase auth.Eraser) []*Route {
	return []*Route{
		{Method: "GET", Path: "/user", Summary: "The caller's account", Auth: auth.Access,
			OK: Doc{Description: "the account", Example: auth.Profile{UserID: 1, Email: "alice@example.com", CreatedAt: exampleTime, EmailVerified: true}},
			Handle: func(req *Request) (Response, error) {
				p, err := a.Profile(req.Principal)
				return Response{JSON: p}, err
			}},
		{Method: "DELETE", Path: "/user", Summary: "Delete the caller's account and everything of it", Auth: auth.Access, Body: deleteBody, Query: MailQuery,
			OK: Doc{Description: "null; the account, its sessions, 2FA methods, recovery codes, pending codes, counters and queued mail are gone, and its address gets a notice. " +
				"Needs a sudo token; an account without an active 2FA method (which cannot get one) sends an access token and its password instead"},
			Errors: map[int][]string{400: {"body must have required property 'password'"}, 401: {failure.CodeSudoTokenRequired, failure.CodePasswordIncorrect},
				429: {failure.CodeTooManyPassword}, 500: {failure.CodeNoPasswordInfo}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.DeleteAccount(req.Ctx, req.Principal, req.Body["password"], erase)
			}},
		{Method: "GET", Path: "/user/sessions", Summary: "The caller's sessions", Auth: auth.Access,
			OK: Doc{Description: "the live sessions, the most recently used first: lastUsedAt is the last token refresh (or the login), ip and userAgent those of the login, current marks the caller's own",
				Example: map[string]any{"sessions": []auth.SessionInfo{{ID: "Jq3m0Yk2V2c5rX7aY9oQ1w", CreatedAt: exampleTime, LastUsedAt: exampleTime.Add(time.Hour), IP: "192.0.2.7", UserAgent: "Mozilla/5.0 ...", Current: true}}}},
			Handle: func(req *Request) (Response, error) {
				list, err := a.Sessions(req.Principal)
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]any{"sessions": list}}, nil
			}},
		{Method: "DELETE", Path: "/user/sessions/{id}", Summary: "End one of the caller's sessions", Auth: auth.SudoOrAccess, Params: sessionParams,
			OK:     Doc{Description: "null; every token of that session is revoked"},
			Errors: map[int][]string{404: {auth.CodeSessionNotFound}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.RevokeSession(req.Ctx, req.Principal, req.Params["id"])
			}},
		{Method: "POST", Path: "/user/email/verify", Summary: "Confirm the account's address with its mailed code", Auth: auth.AccessOrNone, Body: verifyBody,
			OK: Doc{Description: "null; the address is verified (GET /user shows emailVerified) and, under GATEHOUSE_VERIFY_EMAIL=required, the account can log in"},
			Errors: map[int][]string{400: {"body must have required property 'email'"}, 401: {auth.CodeOTPInvalid},
				409: {auth.CodeEmailAlreadyVerified, auth.CodeVerificationNotPending}, 429: {auth.CodeTooManyOTPChecks}},
			Handle: func(req *Request) (Response, error) {
				email, err := addressOf(req)
				if err != nil {
					return Response{}, err
				}
				return Response{}, a.VerifyEmail(req.Ctx, req.principal(), email, req.Body["otp"])
			}},
		{Method: "POST", Path: "/user/email/verify/send", Summary: "Mail a new address verification code", Auth: auth.AccessOrNone, Body: verifySendBody, Query: MailQuery,
			OK:     Doc{Description: "null; a new 6-digit code is mailed to the account's address (without a token: null for every address, and only an account not verified yet gets a mail)"},
			Errors: map[int][]string{400: {"body must have required property 'email'"}, 409: {auth.CodeEmailAlreadyVerified}, 429: {auth.CodeTooManyVerifyMails}, 500: {mail.CodeNoTemplate}},
			Handle: func(req *Request) (Response, error) {
				email, err := addressOf(req)
				if err != nil {
					return Response{}, err
				}
				return Response{}, a.SendVerification(req.Ctx, req.principal(), email)
			}},
	}
}
