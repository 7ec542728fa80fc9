package config

import "testing"

func TestRelyingParty(t *testing.T) {
	tests := []struct {
		name             string
		publicURL, rpID  string
		addr             string
		wantID, wantName string
	}{
		{"default: the server on loopback is localhost", "", "", "127.0.0.1:8080", "localhost", "Gatehouse"},
		{"IPv6 loopback", "http://[::1]:8080", "", "", "localhost", "Gatehouse"},
		{"the public URL's host", "https://auth.example.com/base", "", "", "auth.example.com", "Gatehouse"},
		{"the setting wins", "https://auth.example.com", "example.com", "", "example.com", "Gatehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.PublicURL, c.WebAuthnRPID = tt.publicURL, tt.rpID
			if tt.addr != "" {
				c.Addr = tt.addr
			}
			id, name := c.RelyingParty()
			if id != tt.wantID || name != tt.wantName {
				t.Fatalf("RelyingParty() = %q, %q; want %q, %q", id, name, tt.wantID, tt.wantName)
			}
		})
	}
}

func TestLocalhostOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":     "http://localhost:8080",
		"http://[::1]:9000":         "http://localhost:9000",
		"http://127.0.0.1":          "http://localhost",
		"https://auth.example.com":  "",
		"http://192.168.1.10:8080":  "",
		"not a url at all \x00\x7f": "",
	} {
		if got := LocalhostOrigin(in); got != want {
			t.Errorf("LocalhostOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}
