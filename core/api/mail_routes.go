package api

import (
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/mail"
)

var (
	emailBody = &Schema{Fields: []Field{{Name: "email", Required: true, MaxLength: 256, Format: "email"}}}
	// initiateBody leaves the address check to the use case: its message is "Invalid email address".
	initiateBody = &Schema{Fields: []Field{{Name: "email", Required: true, MaxLength: 256}}}
	otpField     = Field{Name: "otp", Required: true, MinLength: 6, MaxLength: 6, Description: "the 6-digit code from the email"}
	otpBody      = &Schema{Fields: []Field{otpField}}
	validateBody = &Schema{Fields: []Field{{Name: "email", Required: true, MaxLength: 256, Format: "email"}, otpField}}
	resetBody    = &Schema{Fields: []Field{
		{Name: "userEmail", Required: true, MaxLength: 256, Format: "email"},
		otpField,
		{Name: "newPassword", Required: true, MaxLength: 1024, Description: "checked by the configured password policies"},
	}}
)

func authMailContext(req *Request) auth.MailContext {
	return auth.MailContext{Origin: req.Query["origin"], Language: req.Query["language"], RequestID: req.id.String()}
}

// MailRoutes returns the password-reset and email-transfer routes.
func MailRoutes(a *auth.Service) []*Route {
	sendReset := func(purpose string) func(*Request) (Response, error) {
		return func(req *Request) (Response, error) {
			return Response{}, a.SendReset(req.Body["email"], purpose, authMailContext(req))
		}
	}
	return []*Route{
		{Method: "POST", Path: "/user/password/reset/send", Summary: "Send a password reset code", Body: emailBody, Query: MailQuery,
			OK:     Doc{Description: "null, also for an unknown address (which gets no mail)"},
			Errors: map[int][]string{403: {failure.CodeForbiddenMailDomain}, 429: {auth.CodeTooManyResetMails}, 500: {mail.CodeNoTemplate}},
			Handle: sendReset(mail.PurposePasswordReset)},
		{Method: "POST", Path: "/auth/forgot-password", Summary: "Send a password reset link", Body: emailBody, Query: MailQuery,
			OK:     Doc{Description: "null, also for an unknown address; the mail carries a link with the code PUT /user/password/otp takes"},
			Errors: map[int][]string{403: {failure.CodeForbiddenMailDomain}, 429: {auth.CodeTooManyResetMails}, 500: {mail.CodeNoTemplate}},
			Handle: sendReset(mail.PurposeForgotPassword)},
		{Method: "POST", Path: "/user/password/reset/validate", Summary: "Check a password reset code (it is not used up)", Body: validateBody,
			OK:     Doc{Description: "null; the code is not used up"},
			Errors: map[int][]string{401: {auth.CodeOTPInvalid}, 429: {auth.CodeTooManyOTPChecks}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.ValidateReset(req.Body["email"], req.Body["otp"])
			}},
		{Method: "PUT", Path: "/user/password/otp", Summary: "Set a new password with a reset code", Body: resetBody, Query: MailQuery,
			OK:     Doc{Description: "null; every session of the user is revoked; the address gets a notice (in the query's language, else Accept-Language's)"},
			Errors: map[int][]string{400: {"Password must contain at least one uppercase character"}, 401: {auth.CodeOTPInvalid}, 429: {auth.CodeTooManyOTPChecks}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.ResetPassword(req.Ctx, req.Body["userEmail"], req.Body["otp"], req.Body["newPassword"])
			}},
		{Method: "POST", Path: "/user/email/initiate", Summary: "Start moving the account to a new address", Auth: auth.SudoOrAccess, Body: initiateBody, Query: MailQuery,
			OK:     Doc{Description: "null; a 6-digit code is sent to the new address"},
			Errors: map[int][]string{400: {auth.CodeInvalidEmailAddress}, 403: {failure.CodeForbiddenMailDomain}, 409: {auth.CodeNewEmailInUse}, 429: {auth.CodeTooManyTransfers}, 500: {mail.CodeNoTemplate}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.InitiateTransfer(req.Ctx, req.Principal, req.Body["email"], authMailContext(req))
			}},
		{Method: "PUT", Path: "/user/email", Summary: "Complete the address transfer with its code", Auth: auth.Access, Body: otpBody,
			OK:     Doc{Description: "null; the old address gets a notice (in the language and branding of the initiate request)"},
			Errors: map[int][]string{401: {auth.CodeOTPInvalid}, 409: {auth.CodeNewEmailInUse, auth.CodeNoPendingTransfer}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.CompleteTransfer(req.Ctx, req.Principal, req.Body["otp"])
			}},
	}
}
