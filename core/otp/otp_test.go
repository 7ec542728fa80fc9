package otp

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestCodeRules(t *testing.T) {
	st := storetest.Open(t)
	codes := New([]byte("pepper"))
	key := store.Key("test", "1")
	t0 := time.Unix(1_800_000_000, 0)
	issue := func() string {
		var code string
		if err := st.Update(func(txn store.Txn) error {
			var err error
			code, err = codes.Issue(txn, key, t0, map[string]string{"newEmail": "n@example.com"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return code
	}
	check := func(code string, at time.Time) bool {
		var ok bool
		if err := st.Update(func(txn store.Txn) error {
			var err error
			ok, _, err = codes.Check(txn, key, code, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	code := issue()
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	tests := []struct {
		name string
		code string
		at   time.Time
		want bool
	}{
		{"right code", code, t0.Add(time.Minute), true},
		{"right code is not used up by a check", code, t0.Add(time.Minute), true},
		{"expired", code, t0.Add(Lifetime), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := check(tt.code, tt.at); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	code = issue() // a new send replaces the code and its tries
	for i := 0; i < MaxTries; i++ {
		check(wrong, t0)
	}
	if check(code, t0) {
		t.Fatal("the right code works after 5 wrong tries")
	}
	err := st.View(func(txn store.Txn) error { _, err := Get(txn, key); return err })
	if err != nil {
		t.Fatalf("a dead code's record must stay until it expires: %v", err)
	}
}

func TestGenerateIsSixDigits(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := Generate()
		if err != nil || len(c) != 6 {
			t.Fatalf("%q %v", c, err)
		}
		for _, r := range c {
			if r < '0' || r > '9' {
				t.Fatalf("%q", c)
			}
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
}
