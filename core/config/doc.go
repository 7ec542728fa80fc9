package config

import (
	"fmt"
	"strings"
)

// SettingDoc documents one setting: its environment variable, its flag of `gatehouse serve`,
// its default and what it means (the --help line).
type SettingDoc struct {
	Env, Flag, Default, Usage string
}

// docDefaults are defaults that depend on the machine, said in words instead.
var docDefaults = map[string]string{
	"GATEHOUSE_HASH_CONCURRENCY": "the number of CPUs",
}

// Settings documents every setting, in the order of `gatehouse serve --help`.
func Settings() []SettingDoc {
	def := Default()
	out := make([]SettingDoc, 0, len(settings))
	for _, s := range settings {
		d, ok := docDefaults[s.env]
		if !ok {
			d = s.get(&def)
		}
		out = append(out, SettingDoc{Env: s.env, Flag: "--" + s.flag, Default: d, Usage: s.usage})
	}
	return out
}

// MarkdownTable renders Settings as the Markdown table of the README's Configuration section.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| environment variable | flag | default | meaning |\n|---|---|---|---|\n")
	for _, s := range Settings() {
		d := "(none)"
		if s.Default != "" {
			d = s.Default
			if _, words := docDefaults[s.Env]; !words {
				d = "`" + d + "`"
			}
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.Env, s.Flag, cellText(d), cellText(s.Usage))
	}
	return b.String()
}

// cellText escapes text for a Markdown table cell.
func cellText(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// checkDisplayName accepts a name an authenticator app can show: 1 to 64 characters, no
// control characters, and no colon (it separates the issuer from the account in an otpauth
// label).
func checkDisplayName(name string) error {
	n := 0
	for _, r := range name {
		n++
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("must not contain control characters")
		}
		if r == ':' {
			return fmt.Errorf("must not contain a colon (it separates issuer and account in authenticator apps)")
		}
	}
	if n == 0 || n > 64 {
		return fmt.Errorf("must be 1 to 64 characters, not %d", n)
	}
	return nil
}
