package api

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestParseAdminTokens(t *testing.T) {
	sum := sha256.Sum256([]byte("plain-secret"))
	ts, err := ParseAdminTokens(" ops:named-secret , plain-secret,,ci:with:colon ")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0].ID != "ops" || ts[1].ID != hex.EncodeToString(sum[:4]) || ts[2].ID != "ci" {
		t.Fatalf("ids: %+v", ts)
	}
	for presented, want := range map[string]string{
		"named-secret":     "ops",
		"plain-secret":     ts[1].ID,
		"with:colon":       "ci",
		"ops:named-secret": "",
		"named-secre":      "",
		"":                 "",
	} {
		if got := ts.match([]byte(presented)); got != want {
			t.Errorf("match(%q) = %q, want %q", presented, got, want)
		}
	}
	if _, err := ParseAdminTokens("a:x,a:y"); err == nil {
		t.Error("two tokens with one id accepted")
	}
	if ts, err := ParseAdminTokens(""); err != nil || len(ts) != 0 {
		t.Errorf("empty: %v %v", ts, err)
	}
}
