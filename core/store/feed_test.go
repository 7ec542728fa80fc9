package store

import (
	"errors"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestNoticesOnlyOnCommit: a change notice reaches the subscribers once its transaction has
// committed, and never for a transaction that failed.
func TestNoticesOnlyOnCommit(t *testing.T) {
	st, err := OpenBadger(t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var got []string
	st.Subscribe(TopicSessions, func(key string) { mu.Lock(); got = append(got, key); mu.Unlock() })
	st.Subscribe(TopicKeys, func(key string) { t.Errorf("a notice of another topic: %q", key) })

	tests := []struct {
		name string
		fail bool
		want []string
	}{
		{"a committed transaction", false, []string{"s1"}},
		{"a failed transaction", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			err := st.Update(func(txn Txn) error {
				txn.Notify(TopicSessions, "s1")
				if err := txn.Set(Key("x"), []byte("1"), 0); err != nil {
					return err
				}
				mu.Lock()
				early := len(got)
				mu.Unlock()
				if early != 0 {
					t.Error("a notice before the commit")
				}
				if tt.fail {
					return errors.New("fails")
				}
				return nil
			})
			if (err != nil) != tt.fail {
				t.Fatalf("Update: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Fatalf("notices %v, want %v (delivered before Update returns)", got, tt.want)
			}
		})
	}
}
