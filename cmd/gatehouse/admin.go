package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/server"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// dataFlag parses the --data flag (and GATEHOUSE_DATA) of an admin command.
func dataFlag(name string, args []string, stderr io.Writer) (string, []string, bool) {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("GATEHOUSE_DATA", "./data"), "data folder (env GATEHOUSE_DATA)")
	if err := fs.Parse(args); err != nil {
		return "", nil, false
	}
	return *data, fs.Args(), true
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// storeFlags parses the flags that name a store and its master key: --data, --store and
// --master-key-file (and their GATEHOUSE_* variables), into a configuration.
func storeFlags(name string, args []string, stderr io.Writer) (config.Config, []string, bool) {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Default()
	fs.StringVar(&cfg.DataDir, "data", envOr("GATEHOUSE_DATA", cfg.DataDir), "data folder (env GATEHOUSE_DATA)")
	fs.StringVar(&cfg.Store, "store", os.Getenv("GATEHOUSE_STORE"), "badger or a postgres:// URL (env GATEHOUSE_STORE)")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", os.Getenv("GATEHOUSE_MASTER_KEY_FILE"), "master key file (env GATEHOUSE_MASTER_KEY_FILE; empty: <data>/master.key)")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, false
	}
	return cfg, fs.Args(), true
}

// backupCommand writes an online backup of the store: through the running server's admin
// socket when one runs on a Badger data folder, else from the store directly (a PostgreSQL
// store is always read directly, from one consistent snapshot).
func backupCommand(args []string, stdout, stderr io.Writer) int {
	cfg, rest, ok := storeFlags("backup", args, stderr)
	if !ok || len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse backup [--data DIR] [--store URL] [--master-key-file FILE] FILE")
		return 2
	}
	file := rest[0]
	tmp := file + ".partial"
	// Created new, never opened: a FILE.partial already there (another backup running, one
	// interrupted, or a symlink planted to make the backup write elsewhere) is an error, and the
	// backup, which holds every account's secrets, is readable by its owner only.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		fmt.Fprintf(stderr, "gatehouse backup: %s already exists: another backup is running or one was interrupted; remove it and try again\n", tmp)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse backup:", err)
		return 1
	}
	err = writeBackup(cfg, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		fmt.Fprintln(stderr, "gatehouse backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup written to %s\nkeep %s with it: the store's secrets are sealed with it\n", file, server.MasterKeyPath(cfg))
	return 0
}

func writeBackup(cfg config.Config, w io.Writer) error {
	if !store.IsPostgresURL(cfg.Store) {
		if c, err := server.DialAdmin(cfg.DataDir); err == nil {
			return c.Backup(w)
		}
	}
	st, _, err := server.OpenAdminStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	b, ok := st.(store.Backupper)
	if !ok {
		return errors.New("this store has no backup")
	}
	return b.Backup(w)
}

// restorable is a store a backup can be restored into.
type restorable interface {
	Empty() (bool, error)
	Restore(r io.Reader) error
}

// restoreCommand loads a backup into the (empty) configured store; a Badger server must be
// stopped, and the master key file must be the one the backup was sealed with.
func restoreCommand(args []string, stdout, stderr io.Writer) int {
	cfg, rest, ok := storeFlags("restore", args, stderr)
	if !ok || len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse restore [--data DIR] [--store URL] [--master-key-file FILE] FILE")
		return 2
	}
	where := cfg.DataDir
	if store.IsPostgresURL(cfg.Store) {
		where = "the PostgreSQL database"
	} else if _, err := server.DialAdmin(cfg.DataDir); err == nil {
		fmt.Fprintln(stderr, "gatehouse restore: a server is running on", cfg.DataDir, "- stop it first")
		return 1
	}
	keyFile := server.MasterKeyPath(cfg)
	if _, err := os.Stat(keyFile); err != nil {
		fmt.Fprintf(stderr, "gatehouse restore: %s is missing: copy the master.key of the backed-up server there first (or set GATEHOUSE_MASTER_KEY_FILE)\n", keyFile)
		return 1
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	defer f.Close()
	st, sealer, err := server.OpenAdminStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	defer st.Close()
	r, ok := st.(restorable)
	if !ok {
		fmt.Fprintln(stderr, "gatehouse restore: this store cannot be restored into")
		return 1
	}
	if empty, err := r.Empty(); err != nil || !empty {
		fmt.Fprintln(stderr, "gatehouse restore:", where, "is not empty; restore into a new data folder or database")
		return 1
	}
	if err := r.Restore(f); err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	if _, err := token.LoadKeys(st, sealer); err != nil {
		fmt.Fprintln(stderr, "gatehouse restore: restored, but the signing keys do not open with this master key:", err)
		return 1
	}
	if err := server.CheckMasterKey(st, sealer); err != nil {
		fmt.Fprintln(stderr, "gatehouse restore: restored, but", err)
		return 1
	}
	fmt.Fprintln(stdout, "restored", rest[0], "into", where)
	return 0
}

// migrateCommand brings the PostgreSQL schema to this binary's version (servers also do it at
// start-up; running it first lets an operator see the change alone).
func migrateCommand(args []string, stdout, stderr io.Writer) int {
	cfg, rest, ok := storeFlags("migrate", args, stderr)
	if !ok || len(rest) != 0 {
		fmt.Fprintln(stderr, "usage: gatehouse migrate [--store URL]")
		return 2
	}
	if !store.IsPostgresURL(cfg.Store) {
		fmt.Fprintln(stderr, "gatehouse migrate: GATEHOUSE_STORE (or --store) must be a postgres:// URL; the embedded store needs no migration")
		return 2
	}
	from, to, err := store.MigratePostgres(cfg.Store, nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse migrate:", err)
		return 1
	}
	if from == to {
		fmt.Fprintf(stdout, "schema is at version %d: nothing to do\n", to)
	} else {
		fmt.Fprintf(stdout, "schema migrated from version %d to %d\n", from, to)
	}
	return 0
}

// keysCommand runs `gatehouse keys rotate`.
func keysCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, "usage: gatehouse keys rotate [--data DIR]")
		return 2
	}
	data, _, ok := dataFlag("keys rotate", args[1:], stderr)
	if !ok {
		return 2
	}
	ids, err := rotate(data)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse keys rotate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "signing with %s; %d key(s) published\n", ids[0], len(ids))
	return 0
}

func rotate(data string) ([]string, error) {
	if c, err := server.DialAdmin(data); err == nil {
		return c.RotateKeys()
	} else if !errors.Is(err, server.ErrNotRunning) {
		return nil, err
	}
	st, sealer, err := server.OfflineStore(data)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// Offline the server's lifetimes are unknown: keep retired keys for the default longest
	// lifetime (14 days); a running server uses its own setting.
	log := &audit.Log{Retention: audit.DefaultRetention}
	keys, err := token.Rotate(st, sealer, time.Now(), 14*24*time.Hour, func(txn store.Txn, k token.Key) error {
		return log.Record(audit.WithActor(context.Background(), "cli"), txn, audit.Event{Type: audit.KeysRotated, Detail: map[string]string{"kid": k.ID}})
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids, nil
}
