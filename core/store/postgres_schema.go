package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema versions of the PostgreSQL store, oldest first: migrations[i]
// takes a database from version i to version i+1. Append; never edit one that has shipped.
var migrations = []struct {
	name string
	sql  []string
}{
	{"kv table", []string{
		`CREATE TABLE IF NOT EXISTS kv (
			key        bytea PRIMARY KEY,
			value      bytea NOT NULL,
			expires_at timestamptz NULL
		)`,
	}},
	{"index of expiring keys (the sweeper's)", []string{
		`CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL`,
	}},
}

// SchemaVersion is the schema version this binary runs on.
func SchemaVersion() int { return len(migrations) }

// migrationLock is the advisory lock key held while migrating (any constant; "gatehous").
const migrationLock = 0x6761746568_6f7573

// MigratePostgres brings the database at url to the current schema version and returns the
// versions before and after.
func MigratePostgres(url string, logger hclog.Logger) (from, to int, err error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return 0, 0, fmt.Errorf("store: GATEHOUSE_STORE: %w", err)
	}
	defer pool.Close()
	if from, err = schemaVersion(ctx, pool); err != nil {
		return 0, 0, err
	}
	if err := migratePool(ctx, pool, len(migrations), logger); err != nil {
		return from, 0, err
	}
	to, err = schemaVersion(ctx, pool)
	return from, to, err
}

// migratePool applies the migrations up to version target. Nodes starting at once serialise on
// an advisory lock; the lock is only a courtesy (a database without advisory locks still ends
// correct: each version's row in schema_version is inserted in the migration's transaction,
// and a second migrator of the same version fails on its primary key and retries).
func migratePool(ctx context.Context, pool *pgxpool.Pool, target int, log hclog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("store: postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
		return fmt.Errorf("store: postgres: schema_version: %w", err)
	}
	for {
		var current int
		if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return fmt.Errorf("store: postgres: schema version: %w", err)
		}
		if current > len(migrations) {
			return fmt.Errorf("store: the database's schema is version %d, newer than this binary's %d: upgrade gatehouse", current, len(migrations))
		}
		if current >= target {
			return nil
		}
		m := migrations[current]
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, stmt := range m.sql {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, current+1)
			return err
		})
		if err != nil && !retryable(err) && !isUniqueViolation(err) {
			return fmt.Errorf("store: postgres: migration %d (%s): %w", current+1, m.name, err)
		}
		if err == nil {
			log.Info("schema migrated", "version", current+1, "migration", m.name)
		}
	}
}

// checkSchema fails unless the database's schema is this binary's version.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	if v != len(migrations) {
		return fmt.Errorf("store: the database's schema is version %d, this binary needs %d: run gatehouse migrate", v, len(migrations))
	}
	return nil
}

// schemaVersion returns the database's schema version (0: no schema yet).
func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("store: postgres: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: postgres: %w", err)
	}
	return v, nil
}

func isUniqueViolation(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}
