package maildomain

import "testing"

func TestDenied(t *testing.T) {
	d := Shipped("blocked.example", "*.throwaway.example")
	tests := []struct {
		email string
		want  bool
	}{
		{"a@gmail.com", false},
		{"a@0-180.com", true},
		{"a@0-180.COM", true},
		{"a@sub.0x01.gq", true},
		{"a@0x01.gq", true},
		{"a@blocked.example", true},
		{"a@x.y.throwaway.example", true},
		{"a@notblocked.example", false},
		{"no-at-sign", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			if got := d.Denied(tt.email); got != tt.want {
				t.Fatalf("Denied(%q) = %v, want %v", tt.email, got, tt.want)
			}
		})
	}
}
