package mailer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCompose(t *testing.T) {
	base := Request{Now: time.Unix(1700000000, 0), MessageID: "0000018c-ab12", From: "Gatehouse <gh@example.com>",
		To: []string{"a@example.com"}, Subject: "Réinitialisez", Text: "Code 123456\n", HTML: "<p>Code</p>"}
	tests := []struct {
		name    string
		edit    func(*Request)
		want    []string
		notWant []string
		err     string
	}{
		{name: "multipart", want: []string{
			"From: \"Gatehouse\" <gh@example.com>\r\n", "To: a@example.com\r\n",
			"Message-ID: <0000018c-ab12@example.com>\r\n", "Subject: =?utf-8?q?R=C3=A9initialisez?=\r\n",
			"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", "Auto-Submitted: auto-generated\r\n",
			"Content-Type: multipart/alternative; boundary=\"gatehouse-", "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCode 123456\r\n",
			"Content-Type: text/html; charset=\"utf-8\"", "<p>Code</p>"}},
		{name: "text only", edit: func(r *Request) { r.HTML = "" }, want: []string{"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCode 123456"},
			notWant: []string{"multipart"}},
		{name: "non-ASCII display name", edit: func(r *Request) { r.From = "Gâtehouse <gh@example.com>" }, want: []string{"From: =?utf-8?q?G=C3=A2tehouse?= <gh@example.com>\r\n"}},
		{name: "bare sender", edit: func(r *Request) { r.From = "gh@example.com" }, want: []string{"From: gh@example.com\r\n"}},
		{name: "subject injection", edit: func(r *Request) { r.Subject = "Hi\r\nBcc: victim@example.com" }, want: []string{"Subject: Hi Bcc: victim@example.com\r\n"}, notWant: []string{"\r\nBcc:"}},
		{name: "long line", edit: func(r *Request) { r.Text = strings.Repeat("é", 200) }, notWant: []string{strings.Repeat("=C3=A9", 20)}},
		{name: "message id with odd characters", edit: func(r *Request) { r.MessageID = "a b<c>" }, want: []string{"Message-ID: <a-b-c-@example.com>"}},
		{name: "bad recipient", edit: func(r *Request) { r.To = []string{"a@example.com>\r\nBcc: x@y"} }, err: "recipient"},
		{name: "no recipient", edit: func(r *Request) { r.To = nil }, err: "no recipient"},
		{name: "bad sender", edit: func(r *Request) { r.From = "nobody" }, err: "sender"},
		{name: "no id", edit: func(r *Request) { r.MessageID = "" }, err: "message id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			req.To = append([]string(nil), base.To...)
			if tt.edit != nil {
				tt.edit(&req)
			}
			b, err := Compose(&req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msg := string(b)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("message has %q:\n%s", w, msg)
				}
			}
			for _, line := range strings.Split(msg, "\r\n") {
				if len(line) > 998 || strings.Contains(line, "\n") {
					t.Fatalf("bad line %q", line)
				}
			}
			// The same request gives the same bytes (a retry is the same message).
			if again, _ := Compose(&req); !bytes.Equal(again, b) {
				t.Fatal("Compose is not deterministic")
			}
		})
	}
}

func TestAddress(t *testing.T) {
	for in, want := range map[string]string{"a@b.c": "a@b.c", "Name <a@b.c>": "a@b.c", `"Last, First" <a@b.c>`: "a@b.c", "<a@b.c>": "a@b.c", "nope": "", "a@b.c>": ""} {
		got, err := Address(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("Address(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
