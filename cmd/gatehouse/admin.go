package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/core/server"
	"github.com/gatehouse/gatehouse/core/token"
)

// dataFlag parses the --data flag (and GATEHOUSE_DATA) of an admin command.
func dataFlag(name string, args []string, stderr io.Writer) (string, []string, bool) {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("GATEHOUSE_DATA")
	if def == "" {
		def = "./data"
	}
	data := fs.String("data", def, "data folder (env GATEHOUSE_DATA)")
	if err := fs.Parse(args); err != nil {
		return "", nil, false
	}
	return *data, fs.Args(), true
}

// backupCommand writes an online backup of the store: through the running server's admin
// socket when one runs on the data folder, else from the store directly.
func backupCommand(args []string, stdout, stderr io.Writer) int {
	data, rest, ok := dataFlag("backup", args, stderr)
	if !ok || len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse backup [--data DIR] FILE")
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
	err = writeBackup(data, f)
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
	fmt.Fprintf(stdout, "backup written to %s\nkeep %s with it: the store's secrets are sealed with it\n", file, filepath.Join(data, "master.key"))
	return 0
}

func writeBackup(data string, w io.Writer) error {
	if c, err := server.DialAdmin(data); err == nil {
		return c.Backup(w)
	}
	st, _, err := server.OfflineStore(data)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Backup(w)
}

// restoreCommand loads a backup into the (empty) store of a data folder; the server must be
// stopped and the folder must hold the master key the backup was sealed with.
func restoreCommand(args []string, stdout, stderr io.Writer) int {
	data, rest, ok := dataFlag("restore", args, stderr)
	if !ok || len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse restore [--data DIR] FILE")
		return 2
	}
	if _, err := server.DialAdmin(data); err == nil {
		fmt.Fprintln(stderr, "gatehouse restore: a server is running on", data, "- stop it first")
		return 1
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err != nil {
		fmt.Fprintf(stderr, "gatehouse restore: %s is missing: copy the master.key of the backed-up server there first\n", filepath.Join(data, "master.key"))
		return 1
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	defer f.Close()
	st, sealer, err := server.OfflineStore(data)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	defer st.Close()
	if empty, err := st.Empty(); err != nil || !empty {
		fmt.Fprintln(stderr, "gatehouse restore: the store in", data, "is not empty; restore into a new data folder")
		return 1
	}
	if err := st.Restore(f); err != nil {
		fmt.Fprintln(stderr, "gatehouse restore:", err)
		return 1
	}
	if _, err := token.LoadKeys(st, sealer); err != nil {
		fmt.Fprintln(stderr, "gatehouse restore: restored, but the signing keys do not open with this master.key:", err)
		return 1
	}
	fmt.Fprintln(stdout, "restored", rest[0], "into", data)
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
	keys, err := token.Rotate(st, sealer, time.Now(), 14*24*time.Hour)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids, nil
}
