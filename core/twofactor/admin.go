package twofactor

import (
	"bytes"
	"errors"

	"github.com/gatehouse/gatehouse/core/recovery"
	"github.com/gatehouse/gatehouse/core/store"
)

// The operators' side of the 2FA state: what an admin's reset and an account's deletion remove.

// userPrefixes are the prefixes of every key of one user's 2FA state: the sealed method
// records, the active entries and the replay marks.
func userPrefixes(userID uint64) [][]byte {
	return [][]byte{
		append(store.Key("mfa", uid(userID)), '/'),
		activePrefix(userID),
		append(store.Key("mfaused", uid(userID)), '/'),
	}
}

// deleteUserState removes every method record, active entry and replay mark of userID and its
// recovery codes, in txn. It returns the ids of the methods that were active.
func (s *Service) deleteUserState(txn store.Txn, userID uint64) ([]string, error) {
	active, err := ActiveMethods(txn, userID)
	if err != nil {
		return nil, err
	}
	if err := s.releaseAllUniqueKeys(txn, userID); err != nil {
		return nil, err
	}
	for _, prefix := range userPrefixes(userID) {
		var keys [][]byte
		if err := txn.Scan(prefix, func(k, _ []byte) bool {
			keys = append(keys, bytes.Clone(k))
			return true
		}); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return nil, err
			}
		}
	}
	if err := recovery.Delete(txn, userID); err != nil {
		return nil, err
	}
	s.statusChanged(txn, userID)
	ids := make([]string, len(active))
	for i, e := range active {
		ids[i] = e.Method
	}
	return ids, nil
}

// releaseAllUniqueKeys frees the unique-key index entries (a passkey's credential id) of every
// method record of userID. A record that does not open cannot say which it holds: the method's
// whole index is searched for the user's entries then.
func (s *Service) releaseAllUniqueKeys(txn store.Txn, userID uint64) error {
	prefix := append(store.Key("mfa", uid(userID)), '/')
	var methods []string
	if err := txn.Scan(prefix, func(k, _ []byte) bool {
		methods = append(methods, string(k[len(prefix):]))
		return true
	}); err != nil {
		return err
	}
	for _, m := range methods {
		rec, _, err := records{s.Sealer}.get(txn, userID, m)
		if err == nil {
			if err := releaseUniqueKeys(txn, userID, rec); err != nil {
				return err
			}
			continue
		}
		if !errors.Is(err, errCorrupt) {
			return err
		}
		owner := uid(userID)
		var held [][]byte
		if err := txn.Scan(append(store.Key("mfaunique", m), '/'), func(k, v []byte) bool {
			if string(v) == owner {
				held = append(held, bytes.Clone(k))
			}
			return true
		}); err != nil {
			return err
		}
		for _, k := range held {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// ResetUser turns every 2FA method of userID off and deletes its recovery codes, in txn (an
// operator's reset for a user who lost both the device and the codes). It returns the ids of
// the methods that were active.
func (s *Service) ResetUser(txn store.Txn, userID uint64) ([]string, error) {
	return s.deleteUserState(txn, userID)
}

// DeleteUser removes every key of userID's 2FA state in txn, for the deletion of the account.
func (s *Service) DeleteUser(txn store.Txn, userID uint64) error {
	_, err := s.deleteUserState(txn, userID)
	return err
}

// UserAddresses returns the addresses userID gave in 2FA setups (email OTP's), pending or
// active: mail queued to them belongs to the account too. A record that does not open is
// skipped.
func (s *Service) UserAddresses(txn store.Txn, userID uint64) ([]string, error) {
	prefix := append(store.Key("mfa", uid(userID)), '/')
	var methods []string
	if err := txn.Scan(prefix, func(k, _ []byte) bool {
		methods = append(methods, string(k[len(prefix):]))
		return true
	}); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range methods {
		rec, _, err := records{s.Sealer}.get(txn, userID, m)
		if errors.Is(err, errCorrupt) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, mt := range []*mailTo{rec.PendingMailTo, rec.ActiveMailTo} {
			if mt != nil {
				out = append(out, mt.Addresses...)
			}
		}
	}
	entries, err := ActiveMethods(txn, userID)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if a := e.Public["email"]; a != "" {
			out = append(out, a)
		}
	}
	return out, nil
}
