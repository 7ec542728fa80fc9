package maildomain

import (
	"slices"
	"strings"
	"testing"
)

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

// The shipped list is searched in place, so it must stay one domain a line, sorted in byte
// order; every domain on it is found, and the strings between its neighbours are not.
func TestShippedListSearchable(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(shippedDomains, "\n"), "\n")
	if !slices.IsSorted(lines) {
		t.Fatal("disposable-domains.txt is not sorted in byte order (LC_ALL=C sort -u)")
	}
	for i, l := range lines {
		if l == "" || strings.TrimSpace(l) != l || strings.ToLower(l) != l {
			t.Fatalf("line %d %q: want one lower-case domain, no blanks", i+1, l)
		}
		if i > 0 && lines[i-1] == l {
			t.Fatalf("line %d %q: duplicate", i+1, l)
		}
	}
	for _, l := range lines {
		if !containsLine(shippedDomains, l) {
			t.Fatalf("%q not found", l)
		}
		for _, miss := range []string{l + "x", l[:len(l)-1], "0" + l} {
			if _, on := slices.BinarySearch(lines, miss); !on && containsLine(shippedDomains, miss) {
				t.Fatalf("%q found, but not on the list", miss)
			}
		}
	}
}

func TestContainsLine(t *testing.T) {
	tests := []struct {
		text, s string
		want    bool
	}{
		{"", "a", false},
		{"a\n", "", false},
		{"a\n", "a", true},
		{"a", "a", true},
		{"a\nb\nc\n", "a", true},
		{"a\nb\nc\n", "b", true},
		{"a\nb\nc\n", "c", true},
		{"a\nb\nc\n", "bb", false},
		{"a\nb\nc\n", "0", false},
		{"a\nb\nc\n", "d", false},
		{"a\nb\nc\n", "a\nb", false},
		{"aa\nab\nb\nbcd\nbce\nz\n", "bce", true},
		{"aa\nab\nb\nbcd\nbce\nz\n", "bc", false},
	}
	for _, tt := range tests {
		if got := containsLine(tt.text, tt.s); got != tt.want {
			t.Errorf("containsLine(%q, %q) = %v, want %v", tt.text, tt.s, got, tt.want)
		}
	}
}
