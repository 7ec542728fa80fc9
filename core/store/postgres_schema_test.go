package store

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// A database made by schema version 1 (the previous version) migrates to the current one with
// its data, a second migration finds nothing to do, and the store opens on it.
func TestMigrateFromPreviousVersion(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migratePool(ctx, pool, 1, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO kv (key, value, expires_at) VALUES ('v1/old', 'kept', NULL), ('v1/exp', 'x', now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPostgres(url, PostgresOptions{SkipMigrate: true}); err == nil {
		t.Fatal("a store opened without migrating on a version 1 schema")
	}
	from, to, err := MigratePostgres(url, nil)
	if err != nil || from != 1 || to != SchemaVersion() || to < 2 {
		t.Fatalf("migrate: from %d to %d, %v; want from 1 to %d", from, to, err, SchemaVersion())
	}
	var index bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('kv_expires_at') IS NOT NULL`).Scan(&index); err != nil || !index {
		t.Fatalf("version 2's index: %v %v", index, err)
	}
	if from, to, err := MigratePostgres(url, nil); err != nil || from != to {
		t.Fatalf("second migrate: from %d to %d, %v", from, to, err)
	}
	st, err := OpenPostgres(url, PostgresOptions{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(func(txn Txn) error {
		v, err := txn.Get([]byte("v1/old"))
		if err == nil && string(v) != "kept" {
			t.Errorf("v1/old = %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Nodes starting at once on a new database all end on the current schema (the advisory lock).
func TestMigrateConcurrentStarts(t *testing.T) {
	url := pgtest.Database(t)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			st, err := OpenPostgres(url, PostgresOptions{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
