package twofactor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

// record is one user's state of one method, sealed at rest.
type record struct {
	Pending   []byte    `json:"pending,omitempty"`
	PendingAt time.Time `json:"pendingAt,omitempty"`
	Active    []byte    `json:"active,omitempty"`
	// PendingMailTo and ActiveMailTo are the addresses the user gave in the setup body that
	// made the pending and the active state: with the account's address, the only ones the
	// method may mail. nil in a record written before the core kept them.
	PendingMailTo *mailTo `json:"pendingMailTo,omitempty"`
	ActiveMailTo  *mailTo `json:"activeMailTo,omitempty"`
	// UniqueKeys are the index keys (uniqueKey) the active state holds: what the method said
	// no other user may hold (passkey credential ids), freed when the method goes.
	UniqueKeys [][]byte `json:"uniqueKeys,omitempty"`
}

// mailTo is a list of addresses a method may mail besides the account's.
type mailTo struct {
	Addresses []string `json:"addresses"`
}

// ActiveEntry is the clear index entry of an active method: enough for GET /user/2fa and the
// S|A* rule without opening the sealed record.
type ActiveEntry struct {
	Method      string            `json:"-"`
	CompletedAt time.Time         `json:"completedAt"`
	Public      map[string]string `json:"public,omitempty"`
	// Summary is the method's own JSON object for GET /user/2fa (ABI v1.2), such as its list
	// of credentials; nil for none.
	Summary json.RawMessage `json:"summary,omitempty"`
}

func uid(userID uint64) string { return strconv.FormatUint(userID, 10) }

func recordKey(userID uint64, method string) []byte {
	return store.Key("mfa", uid(userID), method)
}

func activePrefix(userID uint64) []byte {
	return append(store.Key("mfaactive", uid(userID)), '/')
}

func activeKey(userID uint64, method string) []byte {
	return append(activePrefix(userID), method...)
}

func replayKey(userID uint64, method, key string) []byte {
	return store.Key("mfaused", uid(userID), method, key)
}

// uniqueKey is the index entry that holds one of a method's unique keys for a user: its value
// is the user's id. The key is hashed, so the index has a fixed key length whatever the method
// sends.
func uniqueKey(method, key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return store.Key("mfaunique", method, hex.EncodeToString(sum[:]))
}

// claimUniqueKeys makes keys the set the user holds for the method, in txn: it fails with
// errKeyHeld when another user holds one of them, else writes the new index entries and frees
// those of the old set that the new one no longer has. It returns the index keys to keep in
// the record.
func claimUniqueKeys(txn store.Txn, userID uint64, method string, old [][]byte, keys []string) ([][]byte, error) {
	owner := []byte(uid(userID))
	claimed := make([][]byte, 0, len(keys))
	for _, k := range keys {
		ik := uniqueKey(method, k)
		v, err := txn.Get(ik)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := txn.Set(ik, owner, 0); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		case !bytes.Equal(v, owner):
			return nil, errKeyHeld
		}
		claimed = append(claimed, ik)
	}
	for _, ik := range old {
		if !slices.ContainsFunc(claimed, func(c []byte) bool { return bytes.Equal(c, ik) }) {
			if err := releaseUniqueKey(txn, userID, ik); err != nil {
				return nil, err
			}
		}
	}
	return claimed, nil
}

// releaseUniqueKeys frees the index entries of a record's unique keys, in txn.
func releaseUniqueKeys(txn store.Txn, userID uint64, rec record) error {
	for _, ik := range rec.UniqueKeys {
		if err := releaseUniqueKey(txn, userID, ik); err != nil {
			return err
		}
	}
	return nil
}

// releaseUniqueKey deletes one index entry if the user holds it.
func releaseUniqueKey(txn store.Txn, userID uint64, ik []byte) error {
	v, err := txn.Get(ik)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(v) != uid(userID) {
		return nil
	}
	return txn.Delete(ik)
}

// errKeyHeld is claimUniqueKeys' refusal: another user holds one of the keys.
var errKeyHeld = errors.New("twofactor: a unique key is held by another user")

// errCorrupt is returned when a sealed record does not open or decode.
var errCorrupt = errors.New("twofactor: method state does not open")

// records reads and writes sealed method records.
type records struct{ sealer *seal.Sealer }

func (r records) get(txn store.Txn, userID uint64, method string) (record, bool, error) {
	k := recordKey(userID, method)
	v, err := txn.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, err
	}
	plain, err := r.sealer.Open(k, v)
	if err != nil {
		return record{}, true, errCorrupt
	}
	var rec record
	if err := json.Unmarshal(plain, &rec); err != nil {
		return record{}, true, errCorrupt
	}
	return rec, true, nil
}

func (r records) put(txn store.Txn, userID uint64, method string, rec record) error {
	if rec.Pending == nil && rec.Active == nil {
		return txn.Delete(recordKey(userID, method))
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	k := recordKey(userID, method)
	return txn.Set(k, r.sealer.Seal(k, plain), 0)
}

// ActiveMethods lists the user's active methods in id order.
func ActiveMethods(txn store.Txn, userID uint64) ([]ActiveEntry, error) {
	prefix := activePrefix(userID)
	var out []ActiveEntry
	var decodeErr error
	err := txn.Scan(prefix, func(k, v []byte) bool {
		var e ActiveEntry
		if decodeErr = json.Unmarshal(v, &e); decodeErr != nil {
			return false
		}
		e.Method = string(k[len(prefix):])
		out = append(out, e)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return out, err
}

func setActive(txn store.Txn, userID uint64, e ActiveEntry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return txn.Set(activeKey(userID, e.Method), v, 0)
}

func getActive(txn store.Txn, userID uint64, method string) (ActiveEntry, bool, error) {
	v, err := txn.Get(activeKey(userID, method))
	if errors.Is(err, store.ErrNotFound) {
		return ActiveEntry{}, false, nil
	}
	if err != nil {
		return ActiveEntry{}, false, err
	}
	e := ActiveEntry{Method: method}
	return e, true, json.Unmarshal(v, &e)
}
