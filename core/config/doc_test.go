package config

import (
	"strings"
	"testing"
)

func TestSettingsDocumentEverySetting(t *testing.T) {
	docs := Settings()
	if len(docs) != len(settings) {
		t.Fatalf("%d docs for %d settings", len(docs), len(settings))
	}
	seen := map[string]bool{}
	for _, d := range docs {
		if !strings.HasPrefix(d.Env, "GATEHOUSE_") || !strings.HasPrefix(d.Flag, "--") || d.Usage == "" {
			t.Errorf("incomplete: %+v", d)
		}
		if seen[d.Env] {
			t.Errorf("%s twice", d.Env)
		}
		seen[d.Env] = true
	}
	table := MarkdownTable()
	tests := []struct{ name, want string }{
		{"a default in code quotes", "| `GATEHOUSE_ADDR` | `--addr` | `127.0.0.1:8080` |"},
		{"no default", "| `GATEHOUSE_ADMIN_TOKEN` | `--admin-token` | (none) |"},
		{"a machine-dependent default in words", "| `GATEHOUSE_HASH_CONCURRENCY` | `--hash-concurrency` | the number of CPUs |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(table, tt.want) {
				t.Fatalf("table lacks %q:\n%s", tt.want, table)
			}
		})
	}
	if n := strings.Count(table, "\n"); n != len(settings)+2 {
		t.Fatalf("%d lines for %d settings", n, len(settings))
	}
}
