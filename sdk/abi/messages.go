package abi

// Field numbers 1 to 7 of every hook request are the common request context;
// hook-specific fields start at 8. Field 1 of every hook result is the list of
// reasons; hook-specific result fields start at 8.

// HostInfo is the input of describe.
type HostInfo struct {
	ABIMinor    uint32 // field 1: the host's ABI minor version
	HostVersion string // field 2: the host's version, for logs only
}

// Marshal appends the encoded message to b.
func (m *HostInfo) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Uint(1, uint64(m.ABIMinor))
	e.String(2, m.HostVersion)
	return e.buf
}

// Unmarshal decodes b into m.
func (m *HostInfo) Unmarshal(b []byte) error {
	*m = HostInfo{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.ABIMinor = uint32(d.Uint())
		case 2:
			m.HostVersion = d.String()
		}
	}
	return d.Err()
}

// Descriptor is the output of describe: who the plugin is and what it needs.
type Descriptor struct {
	ABIMinor     uint32   // field 1: the ABI minor version the plugin was built against
	ID           string   // field 2: namespaced id, "<kind>.<name>", such as "password.default"
	Name         string   // field 3: a human-readable name
	Version      string   // field 4: the plugin's own version (semver advised)
	Kind         Kind     // field 5: "password", "twofactor" or "mailer"
	Hooks        []string // field 6, repeated: the hooks it implements
	Capabilities []string // field 7, repeated: the capabilities it needs
	Codes        []string // field 8, repeated: every reason code it may return
	ConfigSchema string   // field 9: a JSON Schema of its configuration; "" for none
	Description  string   // field 10: one paragraph for operators
	// TwoFactor is a twofactor plugin's method metadata (field 11, ABI v1.1); nil for other
	// kinds, and for a twofactor plugin built for v1.0 (the host then uses the defaults).
	TwoFactor *TwoFactorInfo
}

// Marshal appends the encoded message to b.
func (m *Descriptor) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Uint(1, uint64(m.ABIMinor))
	e.String(2, m.ID)
	e.String(3, m.Name)
	e.String(4, m.Version)
	e.String(5, string(m.Kind))
	e.Repeated(6, m.Hooks)
	e.Repeated(7, m.Capabilities)
	e.Repeated(8, m.Codes)
	e.String(9, m.ConfigSchema)
	e.String(10, m.Description)
	if m.TwoFactor != nil {
		e.Message(11, m.TwoFactor.encode)
	}
	return e.buf
}

// Unmarshal decodes b into m.
func (m *Descriptor) Unmarshal(b []byte) error {
	*m = Descriptor{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.ABIMinor = uint32(d.Uint())
		case 2:
			m.ID = d.String()
		case 3:
			m.Name = d.String()
		case 4:
			m.Version = d.String()
		case 5:
			m.Kind = Kind(d.String())
		case 6:
			m.Hooks = append(m.Hooks, d.String())
		case 7:
			m.Capabilities = append(m.Capabilities, d.String())
		case 8:
			m.Codes = append(m.Codes, d.String())
		case 9:
			m.ConfigSchema = d.String()
		case 10:
			m.Description = d.String()
		case 11:
			m.TwoFactor = new(TwoFactorInfo)
			if err := m.TwoFactor.decode(d.Message()); err != nil {
				return err
			}
		}
	}
	return d.Err()
}

// TwoFactorInfo is the method metadata of a twofactor plugin (Descriptor field 11, ABI v1.1):
// its routes, its request bodies and the message codes of its responses. Every field is
// optional; the zero value of each selects the default written beside it.
type TwoFactorInfo struct {
	// Route is the method's path segment, /user/2fa/<route>/... (field 1). Lower case letters,
	// digits, '-' and '_', starting with a letter, at most 32 characters. Default: the id
	// without its "twofactor." prefix ("twofactor.totp" → "totp").
	Route string
	// SummaryKey is the property of GET /user/2fa that shows the method (field 2), such as
	// "totp"; the host may refuse keys it reserves. Default "": the method is only listed in
	// "methods".
	SummaryKey string
	// CodeField is the request-body property that holds the code (field 3). Default "code".
	CodeField string
	// CodeLength is the exact length of a code, in characters (field 4). Default 0: any
	// length up to 64.
	CodeLength uint32
	// SetupFields are the string properties the setup body must carry (field 5, repeated),
	// such as "email"; the host passes them in TwoFactorRequest.Params. Default: none.
	SetupFields []string
	// Weak marks a factor weaker than an authenticator app, such as email (field 6).
	Weak bool
	// CodePrefix is the prefix of the method's message codes (field 7): PREFIX_INVALID,
	// PREFIX_UNINITIALIZED, TOO_MANY_PREFIX_CHECKS and so on. Default: the route in upper case
	// with '-' as '_'.
	CodePrefix string
	// Codes overrides single message codes (field 8); "" keeps the one derived from
	// CodePrefix.
	Codes TwoFactorCodes
	// ReplayWindowSeconds is how long the host remembers a used ReplayKey (field 9).
	// Default 0: the host's default (5 minutes).
	ReplayWindowSeconds uint32
	// JSONFields names which of CodeField, SetupFields and OptionalSetupFields take a JSON
	// object instead of a string (field 10, repeated; ABI v1.2). The host checks that the
	// body's value is an object of at most 16 KiB and passes its JSON text, compacted, as the
	// code or the param.
	JSONFields []string
	// ClientDataFields are the properties TwoFactorResult.ClientData may carry, such as
	// "publicKey" (field 11, repeated; ABI v1.2).
	ClientDataFields []string
	// Additive marks a method that holds several credentials (field 12; ABI v1.2): while it
	// is active, setup and enable need a sudo token and add one. Enroll and Activate get the
	// active state in TwoFactorRequest.ActiveState, and the state an accepted Activate
	// returns becomes the active state (the old credentials and the new one).
	Additive bool
	// OptionalSetupFields are properties the setup body may carry, such as a credential's
	// "name" (field 13, repeated; ABI v1.2); passed in Params only when present.
	OptionalSetupFields []string
}

// TwoFactorCodes are a method's message codes, each overriding the one derived from the
// prefix P when not "" (the default beside each).
type TwoFactorCodes struct {
	Invalid         string // field 1: 401, a wrong code; P_INVALID
	Uninitialized   string // field 2: 409, nothing to enable or count; P_UNINITIALIZED
	Inactive        string // field 3: 409, authenticate while inactive; P_UNINITIALIZED
	AlreadyInactive string // field 4: 409, delete while inactive; P_ALREADY_INACTIVE
	TooMany         string // field 5: 429 of the guess limiter; TOO_MANY_P_CHECKS
	TooManySends    string // field 6: 429 of the send limiter; TOO_MANY_P_SENDS
	Corrupt         string // field 7: 500, unreadable state; P_CORRUPT
}

// Fields are pointers to the codes, in field order (1 to 7).
func (c *TwoFactorCodes) Fields() []*string {
	return []*string{&c.Invalid, &c.Uninitialized, &c.Inactive, &c.AlreadyInactive, &c.TooMany, &c.TooManySends, &c.Corrupt}
}

func (m *TwoFactorInfo) encode(e *Encoder) {
	e.String(1, m.Route)
	e.String(2, m.SummaryKey)
	e.String(3, m.CodeField)
	e.Uint(4, uint64(m.CodeLength))
	e.Repeated(5, m.SetupFields)
	e.Bool(6, m.Weak)
	e.String(7, m.CodePrefix)
	if m.Codes != (TwoFactorCodes{}) {
		e.Message(8, func(e *Encoder) {
			for i, s := range m.Codes.Fields() {
				e.String(i+1, *s)
			}
		})
	}
	e.Uint(9, uint64(m.ReplayWindowSeconds))
	e.Repeated(10, m.JSONFields)
	e.Repeated(11, m.ClientDataFields)
	e.Bool(12, m.Additive)
	e.Repeated(13, m.OptionalSetupFields)
}

func (m *TwoFactorInfo) decode(d Decoder) error {
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Route = d.String()
		case 2:
			m.SummaryKey = d.String()
		case 3:
			m.CodeField = d.String()
		case 4:
			m.CodeLength = uint32(d.Uint())
		case 5:
			m.SetupFields = append(m.SetupFields, d.String())
		case 6:
			m.Weak = d.Uint() != 0
		case 7:
			m.CodePrefix = d.String()
		case 8:
			cd := d.Message()
			fs := m.Codes.Fields()
			for cd.Next() {
				if f := cd.Field(); f >= 1 && f <= len(fs) {
					*fs[f-1] = cd.String()
				}
			}
			if err := cd.Err(); err != nil {
				return err
			}
		case 9:
			m.ReplayWindowSeconds = uint32(d.Uint())
		case 10:
			m.JSONFields = append(m.JSONFields, d.String())
		case 11:
			m.ClientDataFields = append(m.ClientDataFields, d.String())
		case 12:
			m.Additive = d.Bool()
		case 13:
			m.OptionalSetupFields = append(m.OptionalSetupFields, d.String())
		}
	}
	return d.Err()
}

// DeriveCodes derives a method's message codes from its prefix P, as spec
// section 5 does for every method: P_INVALID, P_UNINITIALIZED (also for
// inactive), P_ALREADY_INACTIVE, TOO_MANY_P_CHECKS, TOO_MANY_P_SENDS and
// P_CORRUPT. This is the one place the codes are derived: the host applies a
// plugin's overrides on top (host.ResolveTwoFactorInfo), and the core's native
// methods use it as it is.
func DeriveCodes(prefix string) TwoFactorCodes {
	return TwoFactorCodes{
		Invalid:         prefix + "_INVALID",
		Uninitialized:   prefix + "_UNINITIALIZED",
		Inactive:        prefix + "_UNINITIALIZED",
		AlreadyInactive: prefix + "_ALREADY_INACTIVE",
		TooMany:         "TOO_MANY_" + prefix + "_CHECKS",
		TooManySends:    "TOO_MANY_" + prefix + "_SENDS",
		Corrupt:         prefix + "_CORRUPT",
	}
}

// ConfigureRequest is the input of configure.
type ConfigureRequest struct {
	Config []byte // field 1: the operator's JSON configuration for this plugin; empty for none
}

// Marshal appends the encoded message to b.
func (m *ConfigureRequest) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	if len(m.Config) > 0 {
		e.Blob(1, m.Config)
	}
	return e.buf
}

// Unmarshal decodes b into m; Config aliases b.
func (m *ConfigureRequest) Unmarshal(b []byte) error {
	*m = ConfigureRequest{}
	d := NewDecoder(b)
	for d.Next() {
		if d.Field() == 1 {
			m.Config = d.Blob()
		}
	}
	return d.Err()
}

// Reason is one reason for a denial.
type Reason struct {
	Code    string // field 1: a stable code from the descriptor's Codes, such as "PASSWORD_TOO_SHORT"
	Message string // field 2: the sentence the user sees
}

func (r *Reason) encode(e *Encoder) {
	e.String(1, r.Code)
	e.String(2, r.Message)
}

func (r *Reason) decode(d Decoder) error {
	for d.Next() {
		switch d.Field() {
		case 1:
			r.Code = d.String()
		case 2:
			r.Message = d.String()
		}
	}
	return d.Err()
}

// Result is the output of configure, password_check and mailer_deliver,
// and the common part of every hook's output.
type Result struct {
	Reasons []Reason // field 1, repeated: why the call was denied, most important first
}

// Marshal appends the encoded message to b.
func (m *Result) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	encodeReasons(&e, m.Reasons)
	return e.buf
}

// Unmarshal decodes b into m.
func (m *Result) Unmarshal(b []byte) error {
	*m = Result{}
	d := NewDecoder(b)
	for d.Next() {
		if d.Field() == 1 {
			if err := decodeReason(&d, &m.Reasons); err != nil {
				return err
			}
		}
	}
	return d.Err()
}

func encodeReasons(e *Encoder, rs []Reason) {
	for i := range rs {
		r := &rs[i]
		e.Message(1, r.encode)
	}
}

func decodeReason(d *Decoder, rs *[]Reason) error {
	var r Reason
	if err := r.decode(d.Message()); err != nil {
		return err
	}
	*rs = append(*rs, r)
	return d.Err()
}

// PasswordCheckRequest is the input of password_check.
type PasswordCheckRequest struct {
	Now         int64  // field 1: the host's wall clock, Unix nanoseconds
	RequestID   string // field 2: the request's id, for logs
	Password    string // field 8: the candidate password
	Email       string // field 9: the account's email, "" if unknown
	Field       string // field 10: the request field being checked, such as "newPassword"
	ServiceName string // field 11: the service's display name, for context words
}

// Marshal appends the encoded message to b.
func (m *PasswordCheckRequest) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Int(1, m.Now)
	e.String(2, m.RequestID)
	e.String(8, m.Password)
	e.String(9, m.Email)
	e.String(10, m.Field)
	e.String(11, m.ServiceName)
	return e.buf
}

// Unmarshal decodes b into m.
func (m *PasswordCheckRequest) Unmarshal(b []byte) error { return m.unmarshal(b, false) }

// UnmarshalView decodes b into m without copying: m's strings alias b and
// are valid only while b is unchanged.
func (m *PasswordCheckRequest) UnmarshalView(b []byte) error { return m.unmarshal(b, true) }

func (m *PasswordCheckRequest) unmarshal(b []byte, view bool) error {
	*m = PasswordCheckRequest{}
	d := NewDecoder(b)
	for d.Next() {
		var s *string
		switch d.Field() {
		case 1:
			m.Now = d.Int()
			continue
		case 2:
			s = &m.RequestID
		case 8:
			s = &m.Password
		case 9:
			s = &m.Email
		case 10:
			s = &m.Field
		case 11:
			s = &m.ServiceName
		default:
			continue
		}
		if view {
			*s = d.StringView()
		} else {
			*s = d.String()
		}
	}
	return d.Err()
}

// TwoFactorRequest is the input of every twofactor hook.
type TwoFactorRequest struct {
	Now         int64  // field 1: the host's wall clock, Unix nanoseconds
	RequestID   string // field 2: the request's id, for logs
	UserID      string // field 8: the user's id
	Email       string // field 9: the user's email
	ServiceName string // field 10: the service's display name (issuer)
	State       []byte // field 11: the state the plugin returned last time; absent at enroll
	Code        string // field 12: the code the user typed (activate, verify)
	// Params are the string fields of the setup body the method's descriptor names in
	// TwoFactorInfo.SetupFields, such as "email" (field 13, repeated, alternating name and
	// value; ABI v1.1). Enroll only.
	Params []string
	// Origin is the HTTP request's Origin header when it is one of Origins, else "" (field
	// 14; ABI v1.2).
	Origin string
	// Origins are the accepted origins, scheme://host[:port]: the public URL's first, then
	// the operator's others (field 15, repeated; ABI v1.2).
	Origins []string
	// RPID is the relying party id a WebAuthn method binds credentials to: a host name, by
	// default the public URL's (field 16; ABI v1.2).
	RPID string
	// RPName is the relying party's display name, by default ServiceName (field 17; ABI v1.2).
	RPName string
	// PublicURL is the server's public URL (field 18; ABI v1.2).
	PublicURL string
	// ActiveState is, for an additive method's enroll and activate, the active state; nil
	// when the method is not active (field 19, optional bytes; ABI v1.2).
	ActiveState []byte
}

// Marshal appends the encoded message to b.
func (m *TwoFactorRequest) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Int(1, m.Now)
	e.String(2, m.RequestID)
	e.String(8, m.UserID)
	e.String(9, m.Email)
	e.String(10, m.ServiceName)
	e.Blob(11, m.State)
	e.String(12, m.Code)
	e.Repeated(13, m.Params)
	e.String(14, m.Origin)
	e.Repeated(15, m.Origins)
	e.String(16, m.RPID)
	e.String(17, m.RPName)
	e.String(18, m.PublicURL)
	e.Blob(19, m.ActiveState)
	return e.buf
}

// Unmarshal decodes b into m; State aliases b.
func (m *TwoFactorRequest) Unmarshal(b []byte) error {
	*m = TwoFactorRequest{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Now = d.Int()
		case 2:
			m.RequestID = d.String()
		case 8:
			m.UserID = d.String()
		case 9:
			m.Email = d.String()
		case 10:
			m.ServiceName = d.String()
		case 11:
			m.State = d.Blob()
		case 12:
			m.Code = d.String()
		case 13:
			m.Params = append(m.Params, d.String())
		case 14:
			m.Origin = d.String()
		case 15:
			m.Origins = append(m.Origins, d.String())
		case 16:
			m.RPID = d.String()
		case 17:
			m.RPName = d.String()
		case 18:
			m.PublicURL = d.String()
		case 19:
			m.ActiveState = d.Blob()
		}
	}
	return d.Err()
}

// Message is an email a plugin asks the host to send (an effect). The host
// renders the template in its own outbox transaction.
type Message struct {
	Template string   // field 1: the template's name, such as "email-otp-challenge"
	Vars     []string // field 2, repeated: alternating name and value
	To       string   // field 3: the recipient's address (ABI v1.1)
}

// TwoFactorResult is the output of every twofactor hook.
type TwoFactorResult struct {
	Reasons  []Reason  // field 1, repeated: why it was denied
	State    []byte    // field 8: the new state; absent (nil) leaves it unchanged
	Secret   string    // field 9: a secret to show the user once (enroll)
	URI      string    // field 10: a URI such as otpauth:// to show (enroll)
	Image    []byte    // field 11: a PNG to show, such as a QR code (enroll)
	Messages []Message // field 12, repeated: emails to send (challenge)
	// ReplayKey names what an accepted code used up, such as the TOTP time step (field 13,
	// ABI v1.1): the host refuses a second acceptance with the same key for the method's
	// replay window. "" for none.
	ReplayKey string
	// Public are name/value pairs the user may see in GET /user/2fa, such as the address of
	// email OTP (field 14, repeated, alternating name and value; ABI v1.1). Taken from the
	// result of activate.
	Public []string
	// ClientData is a JSON object the caller gets in the answer's body (field 15; ABI v1.2):
	// from enroll, beside the setup answer's url, qr and secret; from challenge, the whole
	// answer. Its properties must be among TwoFactorInfo.ClientDataFields; at most 64 KiB.
	ClientData []byte
	// Summary is a JSON object shown in GET /user/2fa under the method's summary key, beside
	// completedAt (field 16; ABI v1.2), such as the list of a user's credentials. Taken from an
	// accepted activate or verify; at most 8 KiB.
	Summary []byte
	// UniqueKeys are, from an accepted activate, every key of the new active state that no
	// other user may hold for this method, such as passkey credential ids (field 17, repeated;
	// ABI v1.2): at most 32, each at most 128 bytes. The host refuses an activation that
	// would share one.
	UniqueKeys []string
}

// Marshal appends the encoded message to b.
func (m *TwoFactorResult) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	encodeReasons(&e, m.Reasons)
	e.Blob(8, m.State)
	e.String(9, m.Secret)
	e.String(10, m.URI)
	e.Blob(11, m.Image)
	for i := range m.Messages {
		msg := &m.Messages[i]
		e.Message(12, func(e *Encoder) {
			e.String(1, msg.Template)
			e.Repeated(2, msg.Vars)
			e.String(3, msg.To)
		})
	}
	e.String(13, m.ReplayKey)
	e.Repeated(14, m.Public)
	e.Blob(15, m.ClientData)
	e.Blob(16, m.Summary)
	e.Repeated(17, m.UniqueKeys)
	return e.buf
}

// Unmarshal decodes b into m; State and Image are copied.
func (m *TwoFactorResult) Unmarshal(b []byte) error {
	*m = TwoFactorResult{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			if err := decodeReason(&d, &m.Reasons); err != nil {
				return err
			}
		case 8:
			m.State = append([]byte{}, d.Blob()...)
		case 9:
			m.Secret = d.String()
		case 10:
			m.URI = d.String()
		case 11:
			m.Image = append([]byte{}, d.Blob()...)
		case 12:
			var msg Message
			md := d.Message()
			for md.Next() {
				switch md.Field() {
				case 1:
					msg.Template = md.String()
				case 2:
					msg.Vars = append(msg.Vars, md.String())
				case 3:
					msg.To = md.String()
				}
			}
			if err := md.Err(); err != nil {
				return err
			}
			m.Messages = append(m.Messages, msg)
		case 13:
			m.ReplayKey = d.String()
		case 14:
			m.Public = append(m.Public, d.String())
		case 15:
			m.ClientData = append([]byte{}, d.Blob()...)
		case 16:
			m.Summary = append([]byte{}, d.Blob()...)
		case 17:
			m.UniqueKeys = append(m.UniqueKeys, d.String())
		}
	}
	return d.Err()
}

// DeliverRequest is the input of mailer_deliver.
type DeliverRequest struct {
	Now       int64    // field 1: the host's wall clock, Unix nanoseconds
	RequestID string   // field 2: the request's id, for logs
	MessageID string   // field 8: the outbox id, stable across retries
	From      string   // field 9
	To        []string // field 10, repeated
	Subject   string   // field 11
	Text      string   // field 12: the plain-text body
	HTML      string   // field 13: the HTML body, "" for none
}

// Marshal appends the encoded message to b.
func (m *DeliverRequest) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Int(1, m.Now)
	e.String(2, m.RequestID)
	e.String(8, m.MessageID)
	e.String(9, m.From)
	e.Repeated(10, m.To)
	e.String(11, m.Subject)
	e.String(12, m.Text)
	e.String(13, m.HTML)
	return e.buf
}

// Unmarshal decodes b into m.
func (m *DeliverRequest) Unmarshal(b []byte) error {
	*m = DeliverRequest{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Now = d.Int()
		case 2:
			m.RequestID = d.String()
		case 8:
			m.MessageID = d.String()
		case 9:
			m.From = d.String()
		case 10:
			m.To = append(m.To, d.String())
		case 11:
			m.Subject = d.String()
		case 12:
			m.Text = d.String()
		case 13:
			m.HTML = d.String()
		}
	}
	return d.Err()
}
