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
}

// Marshal appends the encoded message to b.
func (m *Descriptor) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Uint(1, uint64(m.ABIMinor))
	e.String(2, m.ID)
	e.String(3, m.Name)
	e.String(4, m.Version)
	e.String(5, string(m.Kind))
	for _, s := range m.Hooks {
		e.String(6, s)
	}
	for _, s := range m.Capabilities {
		e.String(7, s)
	}
	for _, s := range m.Codes {
		e.String(8, s)
	}
	e.String(9, m.ConfigSchema)
	e.String(10, m.Description)
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
		}
	}
	return d.Err()
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
		}
	}
	return d.Err()
}

// Message is an email a plugin asks the host to send (an effect). The host
// renders the template in its own outbox transaction.
type Message struct {
	Template string   // field 1: the template's name, such as "email-otp"
	Vars     []string // field 2, repeated: alternating name and value
}

// TwoFactorResult is the output of every twofactor hook.
type TwoFactorResult struct {
	Reasons  []Reason  // field 1, repeated: why it was denied
	State    []byte    // field 8: the new state; absent (nil) leaves it unchanged
	Secret   string    // field 9: a secret to show the user once (enroll)
	URI      string    // field 10: a URI such as otpauth:// to show (enroll)
	Image    []byte    // field 11: a PNG to show, such as a QR code (enroll)
	Messages []Message // field 12, repeated: emails to send (challenge)
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
			for _, v := range msg.Vars {
				e.key(2, WireBytes)
				e.varint(uint64(len(v)))
				e.buf = append(e.buf, v...)
			}
		})
	}
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
				}
			}
			if err := md.Err(); err != nil {
				return err
			}
			m.Messages = append(m.Messages, msg)
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
	for _, s := range m.To {
		e.String(10, s)
	}
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
