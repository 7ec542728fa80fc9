package token

import (
	"time"

	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

// Rotate adds a new signing key and drops the keys that no token still in date can carry: a
// key stops signing when its successor is made, so once the longest token lifetime has passed
// since then, nothing it signed is valid any more. It returns the key set, newest first. also,
// when not nil, writes in the transaction that adds the new key (the rotation's audit event).
func Rotate(st store.Store, sealer *seal.Sealer, now time.Time, longest time.Duration, also ...func(store.Txn, Key) error) ([]Key, error) {
	if _, err := AddKey(st, sealer, now, also...); err != nil {
		return nil, err
	}
	keys, err := LoadKeys(st, sealer)
	if err != nil {
		return nil, err
	}
	kept := keys[:1]
	var dropped []Key
	for i := 1; i < len(keys); i++ {
		if now.Sub(keys[i-1].CreatedAt) < longest {
			kept = append(kept, keys[i])
		} else {
			dropped = append(dropped, keys[i])
		}
	}
	if len(dropped) > 0 {
		if err := st.Update(func(txn store.Txn) error {
			txn.Notify(store.TopicKeys, "")
			for _, k := range dropped {
				if err := txn.Delete(store.Key("key", k.ID)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return kept, nil
}
