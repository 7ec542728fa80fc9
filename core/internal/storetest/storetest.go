// Package storetest opens a real Badger store in a test's temporary folder.
package storetest

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/store"
)

// Open returns a Badger store in t.TempDir(), closed when the test ends.
func Open(t testing.TB) *store.Badger {
	t.Helper()
	st, err := store.OpenBadger(t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
