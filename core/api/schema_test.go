package api

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/failure"
)

func TestDecodeBodyMessages(t *testing.T) {
	schema := &Schema{Fields: []Field{
		{Name: "email", Required: true, MaxLength: 256, Format: "email"},
		{Name: "otp", Required: true, MinLength: 6, MaxLength: 6},
	}}
	tests := []struct {
		name string
		body string
		want string // "" = valid
	}{
		{"valid", `{"email":"a@example.com","otp":"123456","extra":{"x":[1]}}`, ""},
		{"empty body is an empty object", ``, "body must have required property 'email'"},
		{"required first, in order", `{"otp":"1"}`, "body must have required property 'email'"},
		{"second required", `{"email":"a@example.com"}`, "body must have required property 'otp'"},
		{"type", `{"email":"a@example.com","otp":123456}`, "body/otp must be string"},
		{"null is not a string", `{"email":"a@example.com","otp":null}`, "body/otp must be string"},
		{"too short", `{"email":"a@example.com","otp":"12345"}`, "body/otp must NOT have fewer than 6 characters"},
		{"too long", `{"email":"a@example.com","otp":"1234567"}`, "body/otp must NOT have more than 6 characters"},
		{"format", `{"email":"not-an-email","otp":"123456"}`, `body/email must match format "email"`},
		{"array body", `[1,2]`, "body must be object"},
		{"string body", `"x"`, "body must be object"},
		{"garbage", `{"email":`, "body is not valid JSON"},
		{"invalid utf-8", "{\"email\":\"\xff\"}", "body must be valid UTF-8 JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.decodeBody([]byte(tt.body))
			got := ""
			if err != nil {
				fe, ok := failure.As(err)
				if !ok || fe.Status != 400 {
					t.Fatalf("err = %v, want a 400", err)
				}
				got = fe.Code
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeQuery(t *testing.T) {
	schema := &Schema{Fields: []Field{{Name: "language", MinLength: 2, MaxLength: 2}}}
	q := map[string]string{"language": "nld"}
	_, err := schema.decodeQuery(func(n string) ([]byte, bool) { v, ok := q[n]; return []byte(v), ok })
	if fe, ok := failure.As(err); !ok || fe.Code != "querystring/language must NOT have more than 2 characters" {
		t.Fatalf("err = %v", err)
	}
}

func FuzzDecodeBody(f *testing.F) {
	schema := &Schema{Fields: []Field{
		{Name: "username", Required: true, MaxLength: 256},
		{Name: "email", Format: "email"},
	}}
	for _, seed := range []string{`{"username":"a","email":"a@b.c"}`, `{}`, `[]`, `{"username":1}`, "\xff", `{"a":{"b":{"c":[]}}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		values, err := schema.decodeBody(body)
		if err != nil {
			if fe, ok := failure.As(err); !ok || fe.Status != 400 {
				t.Fatalf("non-400 error %v", err)
			}
			return
		}
		if _, ok := values["username"]; !ok {
			t.Fatal("accepted a body without the required property")
		}
	})
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add("origin=https%3A%2F%2Fapp.example.com&language=nl")
	f.Add("language=nld")
	f.Add("language=%ff%fe&origin=")
	f.Fuzz(func(t *testing.T, query string) {
		var args fasthttp.Args
		args.Parse(query)
		_, err := MailQuery.decodeQuery(func(name string) ([]byte, bool) {
			if !args.Has(name) {
				return nil, false
			}
			return args.Peek(name), true
		})
		if err != nil {
			if fe, ok := failure.As(err); !ok || fe.Status != 400 {
				t.Fatalf("non-400 error %v", err)
			}
		}
	})
}
