package store_test

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

func TestBadgerConformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) (store.Store, func() store.Store) {
		return storetest.Open(t), nil
	})
}

func TestPostgresConformance(t *testing.T) {
	cluster := pgtest.Start(t)
	storetest.Conformance(t, func(t *testing.T) (store.Store, func() store.Store) {
		url := cluster.NewDatabase(t)
		open := func() store.Store { return openPostgres(t, url) }
		return open(), open
	})
}

// openPostgres opens a Postgres store on url, closed when the test ends.
func openPostgres(t testing.TB, url string) *store.Postgres {
	t.Helper()
	st, err := store.OpenPostgres(url, store.PostgresOptions{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
