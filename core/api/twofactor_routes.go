package api

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/twofactor"
)

// MailQuery is the query string of every email-sending endpoint (spec section 1).
var MailQuery = &Schema{Fields: []Field{
	{Name: "origin", MaxLength: 256, Description: "selects the mail configuration and branding"},
	{Name: "language", MinLength: 2, MaxLength: 2, Pattern: regexp.MustCompile(`^[A-Za-z]{2}$`), Description: "selects the template language"},
}}

var (
	emptyBody        = &Schema{}
	recoveryCodeBody = &Schema{Fields: []Field{{Name: "recoveryCode", Required: true, MaxLength: 64}}}
)

func duration(d time.Duration) any {
	return map[string]int64{"duration": int64(math.Ceil(d.Seconds()))}
}

func mailContext(req *Request) twofactor.MailContext {
	return twofactor.MailContext{Origin: req.Query["origin"], Language: req.Query["language"], RequestID: req.id.String()}
}

// TwoFactorRoutes returns GET /user/2fa, the routes of each registered method, and the
// recovery-code routes.
func TwoFactorRoutes(tf *twofactor.Service) []*Route {
	routes := []*Route{
		{Method: "GET", Path: "/user/2fa", Summary: "The user's active 2FA methods", Auth: auth.AccessOrPartial,
			OK: Doc{Description: "the active methods; an inactive method's key is absent. An entry of `methods` has `\"weak\": true` when the method is weaker than an authenticator app (email-otp: a code sent by email is only as safe as the mailbox); the key is absent otherwise",
				Example: map[string]any{"enabled": true, "totp": map[string]string{"completedAt": "2026-01-01T00:00:00Z"}, "emailOtp": map[string]string{"completedAt": "2026-01-01T00:00:00Z", "email": "user@example.com"}, "recoveryCodes": map[string]string{"completedAt": "2026-01-01T00:00:00Z"},
					"methods": []map[string]any{{"id": "totp", "completedAt": "2026-01-01T00:00:00Z"}, {"id": "email-otp", "completedAt": "2026-01-01T00:00:00Z", "weak": true}}}},
			Handle: func(req *Request) (Response, error) {
				st, err := tf.Status(req.Principal)
				return Response{JSONBytes: st}, err
			}},
	}
	for _, info := range tf.Methods() {
		routes = append(routes, methodRoutes(tf, info)...)
	}
	return append(routes,
		&Route{Method: "POST", Path: "/user/2fa/recovery-code/authenticate", Summary: "Verify a recovery code (it is used up)", Auth: auth.AccessOrPartial, Body: recoveryCodeBody, Query: MailQuery,
			OK:     Doc{Description: "a sudo token; with a partial token also the access and refresh tokens; the account's address gets a notice", Example: twofactor.Tokens{AccessToken: "...", RefreshToken: "...", SudoToken: "..."}},
			Errors: map[int][]string{401: {twofactor.CodeRecoveryInvalid}, 409: {twofactor.CodeRecoveryUninitialized}, 429: {twofactor.CodeTooManyRecovery}},
			Handle: func(req *Request) (Response, error) {
				t, err := tf.RecoveryAuthenticate(req.Ctx, req.Principal, req.Body["recoveryCode"])
				return Response{JSON: t}, err
			}},
		&Route{Method: "POST", Path: "/user/2fa/recovery-code/reset", Summary: "Replace the recovery codes", Auth: auth.Sudo, Body: emptyBody, Query: MailQuery,
			OK:     Doc{Description: "10 new recovery codes; the old ones stop working; the account's address gets a notice", Example: map[string][]string{"recoveryCodes": {"..."}}},
			Errors: map[int][]string{409: {twofactor.Code2FADisabled}},
			Handle: func(req *Request) (Response, error) {
				codes, err := tf.RecoveryReset(req.Ctx, req.Principal)
				return Response{JSON: map[string][]string{"recoveryCodes": codes}}, err
			}},
		&Route{Method: "GET", Path: "/user/2fa/recovery-code/next-guess", Summary: "Time until the next recovery code guess", Auth: auth.AccessOrPartial,
			OK:     Doc{Description: "seconds until the next guess is allowed", Example: map[string]int{"duration": 0}},
			Errors: map[int][]string{409: {twofactor.CodeRecoveryUninitialized}},
			Handle: func(req *Request) (Response, error) {
				d, err := tf.RecoveryNextGuess(req.Principal)
				return Response{JSON: duration(d)}, err
			}},
	)
}

func methodRoutes(tf *twofactor.Service, info twofactor.Info) []*Route {
	id := info.ID
	c := info.Codes
	base := "/user/2fa/" + id
	setupBody := &Schema{}
	for _, f := range info.SetupFields {
		setupBody.Fields = append(setupBody.Fields, methodField(info, f, true))
	}
	for _, f := range info.OptionalSetupFields {
		setupBody.Fields = append(setupBody.Fields, methodField(info, f, false))
	}
	codeBody := &Schema{Fields: []Field{methodField(info, info.CodeField, true)}}
	if !codeBody.Fields[0].Object {
		codeBody.Fields[0].MinLength, codeBody.Fields[0].MaxLength = info.CodeLength, max(info.CodeLength, 64)
		if info.CodeLength > 0 {
			codeBody.Fields[0].MaxLength = info.CodeLength
		}
	}
	enableAuth, enableNote := auth.Access, ""
	if info.Additive {
		enableNote = "; while the method is active this adds a credential and needs a sudo token (401 SUDO_TOKEN_REQUIRED with an access token)"
	}
	routes := []*Route{
		{Method: "POST", Path: base + "/setup", Summary: "Set up or reset " + id, Auth: auth.SudoOrAccess, Body: setupBody, Query: MailQuery,
			OK:     setupDoc(info),
			Errors: setupErrors(info),
			Handle: func(req *Request) (Response, error) {
				params := map[string]string{}
				for _, f := range slices.Concat(info.SetupFields, info.OptionalSetupFields) {
					if v, ok := req.Body[f]; ok {
						params[f] = v
					}
				}
				res, err := tf.Setup(req.Ctx, req.Principal, id, params, mailContext(req))
				if err != nil || res == nil {
					return Response{}, err
				}
				return Response{JSON: res}, nil
			}},
		{Method: "POST", Path: base + "/enable", Summary: "Activate " + id + " with its first code", Auth: enableAuth, Body: codeBody, Query: MailQuery,
			OK:     Doc{Description: "the recovery codes when this is the first active method, else []" + enableNote + "; the account's address gets a notice", Example: map[string][]string{"recoveryCodes": {"..."}}},
			Errors: enableErrors(info),
			Handle: func(req *Request) (Response, error) {
				codes, err := tf.Enable(req.Ctx, req.Principal, id, req.Body[info.CodeField])
				return Response{JSON: map[string][]string{"recoveryCodes": codes}}, err
			}},
		{Method: "POST", Path: base + "/authenticate", Summary: "Verify a " + id + " code", Auth: auth.AccessOrPartial, Body: codeBody,
			OK:     Doc{Description: "a sudo token; with a partial token also the access and refresh tokens", Example: twofactor.Tokens{AccessToken: "...", RefreshToken: "...", SudoToken: "..."}},
			Errors: map[int][]string{401: {c.Invalid}, 409: {c.Inactive}, 429: {c.TooMany}, 500: {c.Corrupt}},
			Handle: func(req *Request) (Response, error) {
				t, err := tf.Authenticate(req.Ctx, req.Principal, id, req.Body[info.CodeField])
				return Response{JSON: t}, err
			}},
		{Method: "GET", Path: base + "/next-guess", Summary: "Time until the next " + id + " guess", Auth: auth.AccessOrPartial,
			OK:     Doc{Description: "seconds until the next guess is allowed", Example: map[string]int{"duration": 0}},
			Errors: map[int][]string{409: {c.Uninitialized}},
			Handle: func(req *Request) (Response, error) {
				d, err := tf.NextGuess(req.Ctx, req.Principal, id)
				return Response{JSON: duration(d)}, err
			}},
		{Method: "DELETE", Path: base, Summary: "Deactivate " + id, Auth: auth.Sudo, Query: MailQuery,
			OK:     Doc{Description: "null; the last active method turns 2FA off and deletes the recovery codes; the account's address gets a notice"},
			Errors: map[int][]string{409: {c.AlreadyInactive}},
			Handle: func(req *Request) (Response, error) { return Response{}, tf.Delete(req.Ctx, req.Principal, id) }},
	}
	if info.Challenges && mails(info) {
		routes = append(routes, &Route{Method: "GET", Path: base + "/next-email", Summary: "Time until the next " + id + " email may be sent", Auth: auth.AccessOrPartial,
			OK:     Doc{Description: "seconds until the next email may be sent", Example: map[string]int{"duration": 0}},
			Errors: map[int][]string{409: {c.Uninitialized}},
			Handle: func(req *Request) (Response, error) {
				d, err := tf.NextEmail(req.Ctx, req.Principal, id)
				return Response{JSON: duration(d)}, err
			}})
	}
	if info.Challenges {
		challengeDoc := Doc{Description: "null; a code is sent"}
		summary := "Send a " + id + " code"
		challengeErrors := map[int][]string{409: {c.Uninitialized}, 429: {c.TooManySends}, 500: {mail.CodeNoTemplate}}
		if !mails(info) {
			challengeDoc = Doc{Description: "the method's challenge for the client: " + strings.Join(info.ClientDataFields, ", "), Example: clientDataExample(info)}
			summary = "Start a " + id + " check"
			challengeErrors = map[int][]string{409: {c.Uninitialized}}
		}
		routes = append(routes, &Route{Method: "POST", Path: base + "/challenge", Summary: summary, Auth: auth.AccessOrPartial, Body: emptyBody, Query: MailQuery,
			OK:     challengeDoc,
			Errors: challengeErrors,
			Handle: func(req *Request) (Response, error) {
				data, err := tf.Challenge(req.Ctx, req.Principal, id, mailContext(req))
				return Response{JSONBytes: data}, err
			}})
	}
	return routes
}

// methodField is the body field f of a method's route: a string of at most 256 characters, or
// (JSONFields) a JSON object of at most 16 KiB.
func methodField(info twofactor.Info, f string, required bool) Field {
	if slices.Contains(info.JSONFields, f) {
		return Field{Name: f, Required: required, Object: true, MaxLength: 16 << 10}
	}
	return Field{Name: f, Required: required, MaxLength: 256}
}

// setupDoc documents a method's setup answer.
func setupDoc(info twofactor.Info) Doc {
	if len(info.ClientDataFields) > 0 {
		return Doc{Description: "the method's data for the client: " + strings.Join(info.ClientDataFields, ", "), Example: clientDataExample(info)}
	}
	return Doc{Description: "an otpauth URL, its QR code and `secret`, the URL's secret for typing into an authenticator app by hand (base32 for TOTP; absent when the method has none), or null when the method mails a code",
		Example: twofactor.SetupResult{URL: "otpauth://totp/Gatehouse:user%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP...", QR: "data:image/png;base64,...", Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}}
}

// clientDataExample is an answer with the method's client data fields, each an object.
func clientDataExample(info twofactor.Info) map[string]any {
	out := map[string]any{}
	for _, f := range info.ClientDataFields {
		out[f] = map[string]any{}
	}
	return out
}

// enableErrors are the errors of a method's enable.
func enableErrors(info twofactor.Info) map[int][]string {
	c := info.Codes
	errs := map[int][]string{401: {c.Invalid}, 409: {c.Uninitialized}, 429: {c.TooMany}, 500: {c.Corrupt}}
	if info.Additive {
		errs[401] = append(errs[401], "SUDO_TOKEN_REQUIRED")
	}
	return errs
}

func setupErrors(info twofactor.Info) map[int][]string {
	errs := map[int][]string{}
	for _, f := range info.SetupFields {
		if f == "email" {
			errs[400] = []string{twofactor.CodeInvalidEmail}
			errs[403] = []string{"FORBIDDEN_MAIL_PROVIDER"}
		}
	}
	if info.Challenges && mails(info) {
		errs[429] = []string{info.Codes.TooManySends}
		errs[500] = []string{mail.CodeNoTemplate}
	}
	return errs
}

// mails reports whether a method's challenges send mail: a method that hands its challenge to
// the client (ClientDataFields, a passkey's request options) is taken to send none, so it has
// no /next-email route and no send-limit errors in its documentation (its challenge still
// passes the send limiter if it asks for mail after all).
func mails(info twofactor.Info) bool {
	return len(info.ClientDataFields) == 0
}
