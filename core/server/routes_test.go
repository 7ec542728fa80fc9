package server

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/config"
)

func TestOwnURL(t *testing.T) {
	tests := []struct{ name, issuer, want string }{
		{"default issuer is a word", "gatehouse", ""},
		{"https issuer", "https://auth.example.com", "https://auth.example.com"},
		{"http issuer with a path", "http://127.0.0.1:8080/auth", "http://127.0.0.1:8080/auth"},
		{"other scheme", "urn:example:auth", ""},
		{"no host", "https://", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Issuer = tt.issuer
			cfg.PublicURL = "https://app.example.com" // never the answer
			if got := ownURL(cfg); got != tt.want {
				t.Fatalf("ownURL(%q) = %q, want %q", tt.issuer, got, tt.want)
			}
		})
	}
}
