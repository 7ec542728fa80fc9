package config

import (
	"strings"
	"testing"
)

func TestDisplayName(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"default", nil, "Gatehouse", ""},
		{"separate from the issuer", map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com", "GATEHOUSE_DISPLAY_NAME": "Example Sign-in"}, "Example Sign-in", ""},
		{"issuer alone leaves the default", map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com"}, "Gatehouse", ""},
		{"empty", map[string]string{"GATEHOUSE_DISPLAY_NAME": ""}, "", "GATEHOUSE_DISPLAY_NAME: must be 1 to 64"},
		{"colon", map[string]string{"GATEHOUSE_DISPLAY_NAME": "Example: login"}, "", "must not contain a colon"},
		{"control character", map[string]string{"GATEHOUSE_DISPLAY_NAME": "Exam\nple"}, "", "control characters"},
		{"too long", map[string]string{"GATEHOUSE_DISPLAY_NAME": strings.Repeat("x", 65)}, "", "not 65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			for _, s := range settings {
				if v, ok := tt.env[s.env]; ok {
					if err := s.set(&cfg, v); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := cfg.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.DisplayName != tt.want {
				t.Fatalf("DisplayName %q, err %v; want %q", cfg.DisplayName, err, tt.want)
			}
		})
	}
}
