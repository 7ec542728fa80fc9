package abi

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   interface {
			Marshal([]byte) []byte
		}
		out interface{ Unmarshal([]byte) error }
	}{
		{"host info", &HostInfo{ABIMinor: 3, HostVersion: "h/1"}, &HostInfo{}},
		{"descriptor", &Descriptor{ABIMinor: 1, ID: "password.x", Name: "X", Version: "1.2.3", Kind: KindPassword,
			Hooks: []string{HookPasswordCheck}, Capabilities: []string{CapCrypto}, Codes: []string{"A", "B_C"},
			ConfigSchema: `{"type":"object"}`, Description: "d"}, &Descriptor{}},
		{"configure", &ConfigureRequest{Config: []byte(`{"a":1}`)}, &ConfigureRequest{}},
		{"result", &Result{Reasons: []Reason{{Code: "A", Message: "a"}, {Code: "B", Message: strings.Repeat("é", 200)}}}, &Result{}},
		{"password check", &PasswordCheckRequest{Now: 1764000000123456789, RequestID: "r", Password: "pässword", Email: "e@x", Field: "newPassword", ServiceName: "S"}, &PasswordCheckRequest{}},
		{"negative now", &PasswordCheckRequest{Now: -5, Password: "p"}, &PasswordCheckRequest{}},
		{"twofactor request", &TwoFactorRequest{Now: 1, UserID: "42", Email: "e", ServiceName: "s", State: []byte{0, 1, 2}, Code: "123456",
			Params: []string{"email", "a@b", "empty", ""}}, &TwoFactorRequest{}},
		{"twofactor result", &TwoFactorResult{Reasons: []Reason{{Code: "OTP_INVALID", Message: "m"}}, State: []byte{9}, Secret: "S", URI: "otpauth://x", Image: []byte{1},
			Messages:  []Message{{Template: "email-otp", Vars: []string{"code", "123456", "empty", ""}, To: "a@b"}},
			ReplayKey: "59000000", Public: []string{"email", "a@b", "none", ""}}, &TwoFactorResult{}},
		{"twofactor descriptor", &Descriptor{ABIMinor: 1, ID: "twofactor.hotp", Version: "1", Kind: KindTwoFactor,
			Hooks: []string{HookTwoFactorEnroll, HookTwoFactorActivate, HookTwoFactorVerify},
			TwoFactor: &TwoFactorInfo{Route: "hotp", SummaryKey: "hotp", CodeField: "code", CodeLength: 6, SetupFields: []string{"email", "label"},
				Weak: true, CodePrefix: "HOTP", Codes: TwoFactorCodes{Invalid: "A", Corrupt: "G"}, ReplayWindowSeconds: 90}}, &Descriptor{}},
		{"twofactor descriptor, defaults", &Descriptor{ID: "twofactor.x", Kind: KindTwoFactor, TwoFactor: &TwoFactorInfo{}}, &Descriptor{}},
		{"deliver", &DeliverRequest{Now: 1, MessageID: "m1", From: "a@b", To: []string{"c@d", "e@f"}, Subject: "s", Text: "t", HTML: "<p>"}, &DeliverRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.in.Marshal(nil)
			if err := tt.out.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.in, tt.out) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", tt.out, tt.in)
			}
			// Appending to a non-empty buffer keeps its prefix.
			if b2 := tt.in.Marshal([]byte("xyz")); !bytes.Equal(b2[3:], b) || string(b2[:3]) != "xyz" {
				t.Fatal("Marshal does not append")
			}
		})
	}
}

// The encoding is the protobuf wire format: fixed bytes for a known message.
func TestGolden(t *testing.T) {
	got := (&PasswordCheckRequest{Now: 300, Password: "Ab1", Field: "password"}).Marshal(nil)
	want := []byte{0x08, 0xac, 0x02, 0x42, 3, 'A', 'b', '1', 0x52, 8, 'p', 'a', 's', 's', 'w', 'o', 'r', 'd'}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	// A nested message longer than 127 bytes gets a two-byte length.
	long := strings.Repeat("m", 200)
	r := (&Result{Reasons: []Reason{{Code: "C", Message: long}}}).Marshal(nil)
	if r[0] != 0x0a || r[1] != 0xce || r[2] != 0x01 { // 206 = 0xce 0x01
		t.Fatalf("nested length: % x", r[:3])
	}
}

func TestUnknownFieldsSkipped(t *testing.T) {
	var e Encoder
	e.String(2, "password.x")
	e.Uint(99, 7)                     // a varint from a newer minor version
	e.String(100, "future")           // bytes
	e.buf = append(e.buf, 0x95, 0x03) // field 50, wire type 5 (fixed32)
	e.buf = append(e.buf, 1, 2, 3, 4)
	e.buf = append(e.buf, 0x99, 0x03) // field 51, wire type 1 (fixed64)
	e.buf = append(e.buf, 1, 2, 3, 4, 5, 6, 7, 8)
	e.String(4, "1.0")
	var d Descriptor
	if err := d.Unmarshal(e.Bytes()); err != nil {
		t.Fatal(err)
	}
	if d.ID != "password.x" || d.Version != "1.0" {
		t.Fatalf("%+v", d)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated key", []byte{0x80}},
		{"field zero", []byte{0x00, 0x01}},
		{"truncated length", []byte{0x12}},
		{"length past end", []byte{0x12, 0x05, 'a'}},
		{"wire type 3", []byte{0x0b}},
		{"varint too long", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"wrong wire type for a string", []byte{0x10, 0x01}},
		{"invalid UTF-8", []byte{0x12, 0x02, 0xff, 0xfe}},
		{"truncated fixed32", []byte{0x0d, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Descriptor
			if err := d.Unmarshal(tt.in); err == nil {
				t.Fatalf("decoded % x without error: %+v", tt.in, d)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add((&PasswordCheckRequest{Now: 1, Password: "p", Email: "e"}).Marshal(nil))
	f.Add((&Descriptor{ID: "password.x", Hooks: []string{"a"}}).Marshal(nil))
	f.Add((&TwoFactorResult{State: []byte{1}, Messages: []Message{{Template: "t"}}}).Marshal(nil))
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		// No decoder panics; whatever decodes re-encodes to something that
		// decodes to the same value.
		var p PasswordCheckRequest
		if p.Unmarshal(b) == nil {
			var q PasswordCheckRequest
			if err := q.Unmarshal(p.Marshal(nil)); err != nil || q != p {
				t.Fatalf("re-encode: %v %+v %+v", err, p, q)
			}
		}
		var d Descriptor
		_ = d.Unmarshal(b)
		var r Result
		_ = r.Unmarshal(b)
		var tr TwoFactorResult
		_ = tr.Unmarshal(b)
		var dr DeliverRequest
		_ = dr.Unmarshal(b)
		var c ConfigureRequest
		_ = c.Unmarshal(b)
	})
}

// A decoder of ABI v1.0 reads a v1.1 message: the new fields are skipped. Here a v1.0 reader
// is simulated by decoding only the fields v1.0 had.
func TestMinor1FieldsSkippedByOldReaders(t *testing.T) {
	desc := (&Descriptor{ID: "twofactor.x", Version: "1", Kind: KindTwoFactor, Description: "d",
		TwoFactor: &TwoFactorInfo{Route: "x", Codes: TwoFactorCodes{Invalid: "X_BAD"}}}).Marshal(nil)
	res := (&TwoFactorResult{State: []byte{1}, ReplayKey: "7", Public: []string{"a", "b"},
		Messages: []Message{{Template: "t", Vars: []string{"Code", "1"}, To: "a@b"}}}).Marshal(nil)
	for _, b := range [][]byte{desc, res} {
		d := NewDecoder(b)
		n := 0
		for d.Next() {
			if d.Field() <= 12 {
				n++
			}
		}
		if d.Err() != nil || n == 0 {
			t.Fatalf("old reader: %v after %d fields", d.Err(), n)
		}
	}
	// A v1.0 twofactor descriptor has no metadata.
	var d Descriptor
	if err := d.Unmarshal((&Descriptor{ID: "twofactor.x", Kind: KindTwoFactor}).Marshal(nil)); err != nil || d.TwoFactor != nil {
		t.Fatalf("%+v %v", d, err)
	}
}
