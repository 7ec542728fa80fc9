// Package assemblyscript_test checks the AssemblyScript SDK (sdk/assemblyscript) against the Go
// side of the ABI: its wire codec against the Go codec (sdk/abi) for every field of every
// message, and the committed AssemblyScript plugins against the conformance kit.
package assemblyscript_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// codecModule runs sdk/assemblyscript/test/codec.wasm: roundtrip(kind, in_len) decodes its
// input with the SDK's decoder and writes it back with the SDK's encoder.
type codecModule struct {
	ctx context.Context
	mod api.Module
	in  []byte
	out []byte
}

func newCodecModule(t *testing.T) *codecModule {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "sdk", "assemblyscript", "test", "codec.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	c := &codecModule{ctx: ctx}
	_, err = rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, buf, limit uint32) uint32 {
		n := min(int(limit), len(c.in))
		if !m.Memory().Write(buf, c.in[:n]) {
			panic("input_read out of range")
		}
		return uint32(len(c.in))
	}).Export(abi.FuncInputRead).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, buf, n uint32) {
		b, ok := m.Memory().Read(buf, n)
		if !ok {
			panic("output_write out of range")
		}
		c.out = append(c.out, b...)
	}).Export(abi.FuncOutputWrite).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, level, buf, n uint32) {
		b, _ := m.Memory().Read(buf, n)
		t.Logf("guest log %d: %s", level, b)
	}).Export(abi.FuncLog).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.mod, err = rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundtrip returns the guest's status and output for message kind and input in.
func (c *codecModule) roundtrip(t *testing.T, kind int, in []byte) (uint32, []byte) {
	t.Helper()
	c.in, c.out = in, nil
	res, err := c.mod.ExportedFunction("roundtrip").Call(c.ctx, uint64(kind), uint64(len(in)))
	if err != nil {
		t.Fatalf("roundtrip(%d): %v", kind, err)
	}
	return uint32(res[0]), c.out
}

// Kinds of the test module's roundtrip export.
const (
	kHostInfo = iota + 1
	kDescriptor
	kConfigure
	kResult
	kPassword
	kTwoFactorRequest
	kTwoFactorResult
	kDeliver
	kSMTPSend
	kOutboxWrite
	kReply
	kHTTPRequest
	kHTTPResponse
)

// Every field of every message set, with the values that catch codec mistakes: a negative
// int64 (10-byte varint), values past 7 and 14 bits, non-ASCII and 4-byte UTF-8, empty elements
// of repeated fields, a present but empty optional byte string, a long nested message (a
// length of more than one byte).
var (
	long    = string(bytes.Repeat([]byte("0123456789"), 20))
	unicode = "Grüße, 世界 🔐"
	cases   = []struct {
		name string
		kind int
		msg  interface{ Marshal([]byte) []byte }
	}{
		{"HostInfo", kHostInfo, &abi.HostInfo{ABIMinor: 300, HostVersion: "1.2.3-dev"}},
		{"Descriptor", kDescriptor, &abi.Descriptor{
			ABIMinor: 1, ID: "twofactor.x", Name: unicode, Version: "1.0.0", Kind: abi.KindTwoFactor,
			Hooks: []string{"twofactor_enroll", "", "twofactor_verify"}, Capabilities: []string{"crypto", "http"},
			Codes: []string{"X_INVALID", "X_CORRUPT"}, ConfigSchema: `{"type":"object"}`, Description: long,
			TwoFactor: &abi.TwoFactorInfo{
				Route: "x", SummaryKey: "x", CodeField: "code", CodeLength: 8, SetupFields: []string{"email", ""},
				Weak: true, CodePrefix: "XX", ReplayWindowSeconds: 86400,
				Codes: abi.TwoFactorCodes{Invalid: "A", Uninitialized: "B", Inactive: "C", AlreadyInactive: "D",
					TooMany: "E", TooManySends: "F", Corrupt: long},
			},
		}},
		{"Descriptor/v1.2 twofactor", kDescriptor, &abi.Descriptor{
			ABIMinor: 2, ID: "twofactor.passkey", Kind: abi.KindTwoFactor,
			TwoFactor: &abi.TwoFactorInfo{
				Route: "passkey", CodeField: "credential", JSONFields: []string{"credential", "", unicode},
				ClientDataFields: []string{"publicKey", ""}, Additive: true, OptionalSetupFields: []string{"name", "", long},
			},
		}},
		{"Descriptor/additive only", kDescriptor, &abi.Descriptor{ID: "twofactor.y", TwoFactor: &abi.TwoFactorInfo{Additive: true}}},
		{"Descriptor/minimal twofactor", kDescriptor, &abi.Descriptor{ID: "twofactor.y", TwoFactor: &abi.TwoFactorInfo{}}},
		{"Descriptor/one code", kDescriptor, &abi.Descriptor{ID: "twofactor.y", TwoFactor: &abi.TwoFactorInfo{Codes: abi.TwoFactorCodes{Corrupt: "Z"}}}},
		{"ConfigureRequest", kConfigure, &abi.ConfigureRequest{Config: []byte(`{"lookAhead": 10, "x": "` + unicode + `"}`)}},
		{"ConfigureRequest/empty", kConfigure, &abi.ConfigureRequest{}},
		{"Result", kResult, &abi.Result{Reasons: []abi.Reason{{Code: "A", Message: unicode}, {Code: "", Message: ""}, {Code: "C", Message: long}}}},
		{"PasswordCheckRequest", kPassword, &abi.PasswordCheckRequest{Now: -1, RequestID: "r-1", Password: unicode,
			Email: "ann@example.com", Field: "newPassword", ServiceName: "Gatehouse"}},
		{"PasswordCheckRequest/now", kPassword, &abi.PasswordCheckRequest{Now: 1_767_225_600_123_456_789, Password: "x"}},
		{"TwoFactorRequest", kTwoFactorRequest, &abi.TwoFactorRequest{Now: 1_767_225_600_123_456_789, RequestID: "r",
			UserID: "u-1", Email: "ann@example.com", ServiceName: unicode, State: []byte{0, 1, 0xff, 0x80},
			Code: "123456", Params: []string{"email", "", "", "b"}}},
		{"TwoFactorRequest/empty state", kTwoFactorRequest, &abi.TwoFactorRequest{UserID: "u", State: []byte{}}},
		{"TwoFactorRequest/v1.2", kTwoFactorRequest, &abi.TwoFactorRequest{Now: -5, UserID: "u-1", State: []byte(`{"a":1}`),
			Code: `{"id":"` + unicode + `"}`, Params: []string{"name", unicode}, Origin: "https://app.example.com:8443",
			Origins: []string{"https://example.com", "", "http://localhost:3000"}, RPID: "example.com", RPName: unicode,
			PublicURL: "https://example.com/auth", ActiveState: bytes.Repeat([]byte{0, 0xff}, 150)}},
		{"TwoFactorRequest/empty active state", kTwoFactorRequest, &abi.TwoFactorRequest{UserID: "u", ActiveState: []byte{}}},
		{"TwoFactorResult", kTwoFactorResult, &abi.TwoFactorResult{
			Reasons: []abi.Reason{{Code: "X_INVALID", Message: "Invalid code"}},
			State:   bytes.Repeat([]byte{0xfe, 0}, 100), Secret: "JBSWY3DPEHPK3PXP", URI: "otpauth://totp/a:b?secret=X",
			Image: []byte("\x89PNG\r\n\x1a\n"),
			Messages: []abi.Message{
				{Template: "x-challenge", Vars: []string{"code", "123456", "", ""}, To: "ann@example.com"},
				{},
			},
			ReplayKey: "56789", Public: []string{"email", unicode},
		}},
		{"TwoFactorResult/empty state and image", kTwoFactorResult, &abi.TwoFactorResult{State: []byte{}, Image: []byte{}}},
		{"TwoFactorResult/v1.2", kTwoFactorResult, &abi.TwoFactorResult{State: []byte("{}"),
			ClientData: []byte(`{"publicKey":{"challenge":"` + long + `"}}`), Summary: []byte(`{"credentials":[{"name":"` + unicode + `"}]}`),
			UniqueKeys: []string{"k1", "", unicode}}},
		{"TwoFactorResult/empty client data and summary", kTwoFactorResult, &abi.TwoFactorResult{ClientData: []byte{}, Summary: []byte{}}},
		{"DeliverRequest", kDeliver, &abi.DeliverRequest{Now: 42, RequestID: "r", MessageID: "m-1", From: "gh@example.com",
			To: []string{"a@example.com", "", "b@example.com"}, Subject: unicode, Text: long, HTML: "<p>" + unicode + "</p>"}},
		{"SMTPSend", kSMTPSend, &abi.SMTPSend{From: "gh@example.com", To: []string{"a@example.com", ""}, Data: []byte("From: x\r\n\r\n" + long)}},
		{"SMTPSend/empty data", kSMTPSend, &abi.SMTPSend{Data: []byte{}}},
		{"OutboxWrite", kOutboxWrite, &abi.OutboxWrite{MessageID: "m-1.x", Data: []byte(long)}},
		{"Reply", kReply, &abi.Reply{Outcome: abi.OutcomeTemporary, Error: unicode, Code: 550}},
		{"HTTPRequest", kHTTPRequest, &abi.HTTPRequest{Connection: "api", Method: "POST", Path: "/v1/send?x=1",
			Headers: []string{"Idempotency-Key", "m-1", "X-Empty", ""}, Body: []byte(`{"a":"` + unicode + `"}`)}},
		{"HTTPRequest/empty body", kHTTPRequest, &abi.HTTPRequest{Connection: "api", Body: []byte{}}},
		{"HTTPResponse", kHTTPResponse, &abi.HTTPResponse{Outcome: abi.OutcomePermanent, Error: "refused", Status: 202,
			Headers: []string{"Content-Type", "application/json"}, Body: []byte(long), Truncated: true}},
	}
)

// TestCodecMatchesGo: the AssemblyScript decoder reads every field the Go encoder wrote and the
// AssemblyScript encoder writes it back byte for byte (same field order, same rules for zero
// values, repeated elements and optional byte strings).
func TestCodecMatchesGo(t *testing.T) {
	c := newCodecModule(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.msg.Marshal(nil)
			status, out := c.roundtrip(t, tc.kind, in)
			if status != 0 {
				t.Fatalf("status %d for %s", status, hex.EncodeToString(in))
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("AssemblyScript re-encoding differs from Go's:\n go %s\n as %s", hex.EncodeToString(in), hex.EncodeToString(out))
			}
		})
	}
}

// TestCodecSkipsUnknownFields: fields the SDK does not know, of wire types 0, 1, 2 and 5,
// anywhere in a message (nested ones too) are skipped.
func TestCodecSkipsUnknownFields(t *testing.T) {
	c := newCodecModule(t)
	unknown := []byte{
		0xf8, 0x01, 0x96, 0x01, // field 31 varint 150
		0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // field 31 fixed64
		0xfa, 0x01, 3, 'a', 'b', 'c', // field 31 bytes
		0xfd, 0x01, 1, 2, 3, 4, // field 31 fixed32
	}
	req := &abi.TwoFactorRequest{Now: 7, UserID: "u", State: []byte("s"), Code: "123456"}
	want := req.Marshal(nil)
	in := append(append(append([]byte{}, unknown...), want...), unknown...)
	status, out := c.roundtrip(t, kTwoFactorRequest, in)
	if status != 0 || !bytes.Equal(out, want) {
		t.Fatalf("status %d, out %x, want %x", status, out, want)
	}
	// Inside a nested message (a Reason of a Result).
	res := (&abi.Result{Reasons: []abi.Reason{{Code: "A", Message: "m"}}}).Marshal(nil)
	reason := append(append([]byte{}, unknown...), res[2:]...)
	nested := append([]byte{0x0a, byte(len(reason))}, reason...)
	status, out = c.roundtrip(t, kResult, nested)
	if status != 0 || !bytes.Equal(out, res) {
		t.Fatalf("nested: status %d, out %x, want %x", status, out, res)
	}
}

// TestCodecRefusesMalformed: what the ABI calls malformed is status 2 (bad_input) from the
// decoder, never a trap or a silently wrong value.
func TestCodecRefusesMalformed(t *testing.T) {
	c := newCodecModule(t)
	for _, tc := range []struct {
		name string
		kind int
		in   []byte
	}{
		{"known varint field as bytes", kPassword, []byte{0x0a, 0x01, 'x'}},
		{"known string field as varint", kPassword, []byte{0x40, 0x01}},
		{"truncated varint", kPassword, []byte{0x08, 0x80}},
		{"varint past 64 bits", kPassword, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"length past the end", kPassword, []byte{0x42, 0x05, 'a'}},
		{"truncated fixed64", kPassword, []byte{0xf9, 0x01, 1, 2}},
		{"truncated fixed32", kPassword, []byte{0xfd, 0x01, 1}},
		{"group", kPassword, []byte{0x0b, 0x0c}},
		{"wire type 6", kPassword, []byte{0x0e}},
		{"field 0", kPassword, []byte{0x00, 0x01}},
		{"invalid UTF-8", kPassword, []byte{0x42, 0x02, 0xc3, 0x28}},
		{"overlong UTF-8", kPassword, []byte{0x42, 0x02, 0xc0, 0xaf}},
		{"UTF-8 surrogate", kPassword, []byte{0x42, 0x03, 0xed, 0xa0, 0x80}},
		{"UTF-8 past U+10FFFF", kPassword, []byte{0x42, 0x04, 0xf4, 0x90, 0x80, 0x80}},
		{"truncated UTF-8", kPassword, []byte{0x42, 0x02, 0xe4, 0xb8}},
		{"malformed nested reason", kResult, []byte{0x0a, 0x02, 0x0a, 0x05}},
		{"invalid UTF-8 in a repeated element", kDeliver, []byte{0x52, 0x01, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, out := c.roundtrip(t, tc.kind, tc.in); status != 2 {
				t.Fatalf("status %d (out %x), want 2", status, out)
			}
			// The Go decoder agrees that it is malformed.
			var err error
			switch tc.kind {
			case kPassword:
				err = new(abi.PasswordCheckRequest).Unmarshal(tc.in)
			case kResult:
				err = new(abi.Result).Unmarshal(tc.in)
			case kDeliver:
				err = new(abi.DeliverRequest).Unmarshal(tc.in)
			}
			if err == nil {
				t.Fatalf("the Go decoder accepts %x", tc.in)
			}
		})
	}
}
