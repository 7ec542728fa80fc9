package recovery

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestGenerateMatchConsume(t *testing.T) {
	st := storetest.Open(t)
	k := NewKeeper([]byte("pepper"))
	var codes []string
	if err := st.Update(func(txn store.Txn) error {
		var err error
		codes, err = k.Generate(txn, 1, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(codes) != Count {
		t.Fatalf("%d codes", len(codes))
	}
	distinct := map[string]bool{}
	for _, c := range codes {
		if len(c) != Length || strings.Trim(c, alphabet) != "" {
			t.Fatalf("code %q", c)
		}
		distinct[c] = true
	}
	if len(distinct) != Count {
		t.Fatal("codes repeat")
	}
	var set Set
	st.View(func(txn store.Txn) error { set, _ = Get(txn, 1); return nil })
	for _, c := range set.Codes {
		if strings.Contains(string(c.MAC), codes[0]) {
			t.Fatal("a code is stored in clear")
		}
	}
	tests := []struct {
		name, code string
		want       int
	}{
		{"exact", codes[2], 2},
		{"lower case with dashes and spaces", strings.ToLower(codes[2][:8] + "- " + codes[2][8:]), 2},
		{"unknown", "AAAAAAAAAAAAAAAA", -1},
		{"empty", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.Match(set, tt.code); got != tt.want {
				t.Fatalf("Match = %d, want %d", got, tt.want)
			}
		})
	}
	other := NewKeeper([]byte("another pepper"))
	if other.Match(set, codes[2]) != -1 {
		t.Fatal("codes must not match under another pepper")
	}
	if err := st.Update(func(txn store.Txn) error { return Consume(txn, 1, set.MAC(2)) }); err != nil {
		t.Fatal(err)
	}
	st.View(func(txn store.Txn) error { set, _ = Get(txn, 1); return nil })
	if k.Match(set, codes[2]) != -1 || len(set.Codes) != Count-1 {
		t.Fatal("a consumed code still matches")
	}
	if err := st.Update(func(txn store.Txn) error { return Consume(txn, 1, []byte("gone")) }); err != ErrNone {
		t.Fatalf("consuming a missing code: %v", err)
	}
}
