package server

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

// openStore opens the configured store: the embedded Badger store in the data folder, or the
// PostgreSQL database of GATEHOUSE_STORE (its schema migrated under an advisory lock).
func openStore(cfg config.Config, log hclog.Logger) (store.Store, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if store.IsPostgresURL(cfg.Store) {
		return store.OpenPostgres(cfg.Store, store.PostgresOptions{MaxConns: int32(cfg.StoreMaxConns), Logger: log})
	}
	st, err := store.OpenBadgerWith(filepath.Join(cfg.DataDir, "store"), log, store.BadgerOptions{
		MemTableSize:   int64(cfg.BadgerMemTableMiB) << 20,
		BlockCacheSize: int64(cfg.BadgerBlockCacheMiB) << 20,
		IndexCacheSize: int64(cfg.BadgerIndexCacheMiB) << 20,
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// MasterKeyPath is the configured master key file (GATEHOUSE_MASTER_KEY_FILE, by default
// master.key in the data folder).
func MasterKeyPath(cfg config.Config) string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	return filepath.Join(cfg.DataDir, seal.KeyFile)
}

// masterKeyCheckKey holds a check value of the master key the store's secrets are sealed with.
var masterKeyCheckKey = store.Key("meta", "master-key-check")

// ErrMasterKeyMismatch is returned when the master key does not match the store's.
var ErrMasterKeyMismatch = errors.New("the master key does not match the one this store's secrets are sealed with")

// loadSealer loads (or creates) the master key and checks it against the store: the first
// start records a check value (a key derived from the master key, which reveals nothing of
// it), and a node with another key refuses to start instead of failing on every sealed value.
func loadSealer(cfg config.Config, st store.Store) (*seal.Sealer, error) {
	path := MasterKeyPath(cfg)
	sealer, err := seal.LoadOrCreateFile(path)
	if err != nil {
		return nil, err
	}
	if err := CheckMasterKey(st, sealer); err != nil {
		return nil, fmt.Errorf("%w: %s is not the key of this store; every node must use the same master key file (GATEHOUSE_MASTER_KEY_FILE): copy it from the first node", err, path)
	}
	return sealer, nil
}

// CheckMasterKey compares sealer's key with the check value recorded in st, recording it when
// there is none; it returns ErrMasterKeyMismatch when they differ.
func CheckMasterKey(st store.Store, sealer *seal.Sealer) error {
	want := sealer.Derive("master key check value")
	return st.Update(func(txn store.Txn) error {
		got, err := txn.Get(masterKeyCheckKey)
		if errors.Is(err, store.ErrNotFound) {
			return txn.Set(masterKeyCheckKey, want, 0)
		}
		if err != nil {
			return err
		}
		if !hmac.Equal(got, want) {
			return ErrMasterKeyMismatch
		}
		return nil
	})
}
