package abi

// The transport capabilities: smtp, outbox and http. Each is a host module
// (CapabilityModule(name)) with one function that does the work and
// FuncReplyRead to fetch its reply. They share one convention:
//
//   - The plugin encodes a request message in its own memory and calls the
//     function with its address and length. The function blocks until the
//     work is done (bounded by the hook's deadline and the operator's
//     timeout) and returns the length of the reply message.
//   - The plugin copies the reply with FuncReplyRead, as it copies its input
//     with FuncInputRead. The host keeps the reply until the next transport
//     call or the end of the hook call.
//   - Every reply starts with an Outcome (field 1) and an error text (field
//     2). A request that is not a well-formed message, or a pointer outside
//     memory, traps.
//
// The operator's settings (the relay and its credentials, the folder, the
// connections' URLs and headers) stay in the host: a plugin names what it
// wants done, never where or with which secret.

// Functions of the transport capability modules.
const (
	// FuncReplyRead copies the reply of the plugin's last transport call (in
	// any transport module) into the plugin's memory.
	//
	// Signature: (buf i32, limit i32) -> (reply_len i32).
	//
	// Parameters: buf is the address of a buffer the plugin owns, limit its
	// size. The host copies min(limit, reply_len) bytes to buf and returns
	// reply_len. Before any capability call in the current hook call it
	// traps.
	FuncReplyRead = "reply_read"

	// FuncSMTPSend submits one message through the operator's SMTP relay
	// (module "gatehouse_smtp_v1").
	//
	// Signature: (req i32, req_len i32) -> (reply_len i32).
	//
	// Input: SMTPSend. Reply: Reply, with the relay's last reply code in
	// Code. OutcomePermanent for a 5xx answer to MAIL, RCPT or DATA (the
	// message will never be accepted) and for a sender the operator does not
	// allow; OutcomeTemporary for everything else that fails (connection,
	// TLS, AUTH, a 4xx, the deadline).
	//
	// Example:
	//
	//	req:   SMTPSend{From: "gatehouse@example.com", To: ["ann@example.com"], Data: "From: ...\r\n..."}
	//	reply: Reply{Outcome: OutcomeOK, Code: 250}
	FuncSMTPSend = "send"

	// FuncOutboxWrite writes one message as a file into the operator's
	// development folder, <folder>/<message_id>.eml (module
	// "gatehouse_outbox_v1"). It writes a temporary file, syncs it and
	// renames it, so a reader never sees a partial file, and writing the same
	// id again replaces the file: retries make no duplicates.
	//
	// Signature: (req i32, req_len i32) -> (reply_len i32).
	//
	// Input: OutboxWrite. Reply: Reply. OutcomePermanent for a message id
	// that is not 1 to 128 of [A-Za-z0-9._-] (not starting with a dot);
	// OutcomeTemporary when the file cannot be written.
	FuncOutboxWrite = "write"

	// FuncHTTPRequest sends one HTTP request through a connection the
	// operator configured and named (module "gatehouse_http_v1"). The
	// connection fixes the base URL, the headers that carry credentials, the
	// methods and the path prefix allowed, and a timeout; no other
	// destination is reachable, and redirects are not followed.
	//
	// Signature: (req i32, req_len i32) -> (reply_len i32).
	//
	// Input: HTTPRequest. Reply: HTTPResponse. OutcomeOK whenever a response
	// arrived, whatever its status (judging it is the plugin's job);
	// OutcomePermanent when the host refuses the request (no such connection
	// for this plugin, a method or path not allowed, a header the plugin may
	// not set); OutcomeTemporary when no response arrived (connection, TLS,
	// timeout).
	//
	// Example:
	//
	//	req:   HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send",
	//	                   Headers: ["Content-Type", "application/json"], Body: "{...}"}
	//	reply: HTTPResponse{Outcome: OutcomeOK, Status: 202, Headers: [...], Body: "..."}
	FuncHTTPRequest = "request"
)

// Outcome is field 1 of every transport capability reply.
type Outcome uint32

// Outcomes of a transport capability call.
const (
	// OutcomeOK: done (for http: a response arrived).
	OutcomeOK Outcome = 0
	// OutcomePermanent: refused for good; retrying the same request cannot
	// succeed. A mailer reports it as a permanent failure (StatusDenied).
	OutcomePermanent Outcome = 1
	// OutcomeTemporary: failed for now; worth retrying later. A mailer
	// reports it as StatusRetry.
	OutcomeTemporary Outcome = 2
)

// String returns the outcome's name: "ok", "permanent" or "temporary".
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomePermanent:
		return "permanent"
	case OutcomeTemporary:
		return "temporary"
	}
	return "unknown"
}

// MaxTransportRequest is the largest request a transport capability function
// reads from the plugin's memory, in bytes.
const MaxTransportRequest = 4 << 20

// SMTPSend is the input of FuncSMTPSend.
type SMTPSend struct {
	From string   // field 1: the envelope sender (bare address); "" for the operator's
	To   []string // field 2, repeated: the envelope recipients (bare addresses)
	Data []byte   // field 3: the whole RFC 5322 message, CRLF line ends
}

// Marshal appends the encoded message to b.
func (m *SMTPSend) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.String(1, m.From)
	e.Repeated(2, m.To) // an empty recipient is written: the host refuses it
	e.Blob(3, m.Data)
	return e.buf
}

// Unmarshal decodes b into m; Data aliases b.
func (m *SMTPSend) Unmarshal(b []byte) error {
	*m = SMTPSend{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.From = d.String()
		case 2:
			m.To = append(m.To, d.String())
		case 3:
			m.Data = d.Blob()
		}
	}
	return d.Err()
}

// OutboxWrite is the input of FuncOutboxWrite.
type OutboxWrite struct {
	MessageID string // field 1: names the file, <message_id>.eml
	Data      []byte // field 2: the whole RFC 5322 message
}

// Marshal appends the encoded message to b.
func (m *OutboxWrite) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.String(1, m.MessageID)
	e.Blob(2, m.Data)
	return e.buf
}

// Unmarshal decodes b into m; Data aliases b.
func (m *OutboxWrite) Unmarshal(b []byte) error {
	*m = OutboxWrite{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.MessageID = d.String()
		case 2:
			m.Data = d.Blob()
		}
	}
	return d.Err()
}

// Reply is the reply of FuncSMTPSend and FuncOutboxWrite.
type Reply struct {
	Outcome Outcome // field 1
	Error   string  // field 2: what failed, for logs and reasons; "" when OK. Never a secret.
	Code    uint32  // field 8: smtp: the relay's last reply code, such as 250 or 550; 0 if none
}

// Marshal appends the encoded message to b.
func (m *Reply) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Uint(1, uint64(m.Outcome))
	e.String(2, m.Error)
	e.Uint(8, uint64(m.Code))
	return e.buf
}

// Unmarshal decodes b into m.
func (m *Reply) Unmarshal(b []byte) error {
	*m = Reply{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Outcome = Outcome(d.Uint())
		case 2:
			m.Error = d.String()
		case 8:
			m.Code = uint32(d.Uint())
		}
	}
	return d.Err()
}

// HTTPRequest is the input of FuncHTTPRequest.
type HTTPRequest struct {
	Connection string   // field 1: the operator's name for the connection
	Method     string   // field 2: such as "POST"; "" for GET
	Path       string   // field 3: below the connection's base URL, starting with "/"; may carry a ?query
	Headers    []string // field 4, repeated: alternating name and value
	Body       []byte   // field 5
}

// Marshal appends the encoded message to b.
func (m *HTTPRequest) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.String(1, m.Connection)
	e.String(2, m.Method)
	e.String(3, m.Path)
	e.Repeated(4, m.Headers)
	e.Blob(5, m.Body)
	return e.buf
}

// Unmarshal decodes b into m; Body aliases b.
func (m *HTTPRequest) Unmarshal(b []byte) error {
	*m = HTTPRequest{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Connection = d.String()
		case 2:
			m.Method = d.String()
		case 3:
			m.Path = d.String()
		case 4:
			m.Headers = append(m.Headers, d.String())
		case 5:
			m.Body = d.Blob()
		}
	}
	return d.Err()
}

// HTTPResponse is the reply of FuncHTTPRequest.
type HTTPResponse struct {
	Outcome   Outcome  // field 1
	Error     string   // field 2: why no response, or why the host refused; "" when OK
	Status    uint32   // field 8: the HTTP status, such as 202
	Headers   []string // field 9, repeated: alternating name (canonical form) and value
	Body      []byte   // field 10: at most the connection's response limit
	Truncated bool     // field 11: the body was longer than the limit and was cut
}

// Marshal appends the encoded message to b.
func (m *HTTPResponse) Marshal(b []byte) []byte {
	e := Encoder{buf: b}
	e.Uint(1, uint64(m.Outcome))
	e.String(2, m.Error)
	e.Uint(8, uint64(m.Status))
	e.Repeated(9, m.Headers)
	e.Blob(10, m.Body)
	e.Bool(11, m.Truncated)
	return e.buf
}

// Unmarshal decodes b into m; Body aliases b.
func (m *HTTPResponse) Unmarshal(b []byte) error {
	*m = HTTPResponse{}
	d := NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			m.Outcome = Outcome(d.Uint())
		case 2:
			m.Error = d.String()
		case 8:
			m.Status = uint32(d.Uint())
		case 9:
			m.Headers = append(m.Headers, d.String())
		case 10:
			m.Body = d.Blob()
		case 11:
			m.Truncated = d.Bool()
		}
	}
	return d.Err()
}
