package abi

import (
	"bytes"
	"reflect"
	"testing"
)

func TestTransportRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		in, zero interface {
			Marshal([]byte) []byte
			Unmarshal([]byte) error
		}
	}{
		{"smtp send", &SMTPSend{From: "a@example.com", To: []string{"b@example.com", "c@example.com"}, Data: []byte("Subject: x\r\n\r\ny\r\n")}, &SMTPSend{}},
		{"outbox write", &OutboxWrite{MessageID: "m1", Data: []byte{}}, &OutboxWrite{}},
		{"reply", &Reply{Outcome: OutcomePermanent, Error: "smtp: RCPT TO: 550 no", Code: 550}, &Reply{}},
		{"http request", &HTTPRequest{Connection: "c", Method: "POST", Path: "/v1/send?a=b", Headers: []string{"X-Empty", "", "Content-Type", "application/json"}, Body: []byte("{}")}, &HTTPRequest{}},
		{"http response", &HTTPResponse{Outcome: OutcomeOK, Status: 202, Headers: []string{"Date", "x"}, Body: []byte("ok"), Truncated: true}, &HTTPResponse{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.in.Marshal(nil)
			if err := tt.zero.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.in, tt.zero) {
				t.Fatalf("got %+v, want %+v", tt.zero, tt.in)
			}
			if again := tt.zero.Marshal(nil); !bytes.Equal(again, b) {
				t.Fatalf("re-encoded differently")
			}
		})
	}
}

// The host decodes what the guest sends it: no transport decoder panics, and
// what decodes re-encodes to the same value.
func FuzzTransportDecode(f *testing.F) {
	f.Add((&SMTPSend{From: "a@b", To: []string{"c@d"}, Data: []byte("x")}).Marshal(nil))
	f.Add((&HTTPRequest{Connection: "c", Path: "/", Headers: []string{"a", ""}}).Marshal(nil))
	f.Add((&OutboxWrite{MessageID: "m"}).Marshal(nil))
	f.Add([]byte{0x22, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SMTPSend
		if s.Unmarshal(b) == nil {
			var s2 SMTPSend
			if err := s2.Unmarshal(s.Marshal(nil)); err != nil || !reflect.DeepEqual(s.To, s2.To) || s.From != s2.From || !bytes.Equal(s.Data, s2.Data) {
				t.Fatalf("smtp re-encode: %v %+v %+v", err, s, s2)
			}
		}
		var h HTTPRequest
		if h.Unmarshal(b) == nil {
			var h2 HTTPRequest
			if err := h2.Unmarshal(h.Marshal(nil)); err != nil || len(h.Headers) != len(h2.Headers) || h.Path != h2.Path {
				t.Fatalf("http re-encode: %v %+v %+v", err, h, h2)
			}
		}
		var o OutboxWrite
		_ = o.Unmarshal(b)
		var r Reply
		_ = r.Unmarshal(b)
		var hr HTTPResponse
		_ = hr.Unmarshal(b)
	})
}
