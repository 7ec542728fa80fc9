package limit

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// UserSubject is the subject of an account's counters ("u/<id>").
func UserSubject(userID uint64) Subject {
	return Subject{Key: "u/" + strconv.FormatUint(userID, 10), Known: true}
}

// Counter is one guess counter of an account, as an operator sees it.
type Counter struct {
	// Factor is the counter's name ("password", "mfa-totp", "recovery-code").
	Factor   string        `json:"factor"`
	Failures int           `json:"failures"`
	Wait     time.Duration `json:"-"`
	// WaitSeconds is how long the next guess must wait, rounded up.
	WaitSeconds int64 `json:"wait"`
}

// userKeys calls fn with the kind, factor name, key and value of every counter record of
// account userID: its guess counters (kind "limit") and its send counters (kind "send"), under
// the account's subject ("u/<id>") or one of its devices' ("d/<id>/<device>", see
// auth.loginSubject). Accounts' counters are records of their own ("v1/<kind>/<factor>/<subject>");
// the factors are many (one per 2FA method), so the records are found by a scan of each kind.
func userKeys(txn store.Txn, userID uint64, fn func(kind, factor string, key, value []byte)) error {
	id := strconv.FormatUint(userID, 10)
	for _, kind := range []string{"limit", "send"} {
		prefix := store.Key(kind, "")
		if err := txn.Scan(prefix, func(k, v []byte) bool {
			factor, subject, ok := strings.Cut(string(k[len(prefix):]), "/")
			if ok && (subject == "u/"+id || strings.HasPrefix(subject, "d/"+id+"/")) {
				fn(kind, factor, k, v)
			}
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// Counters returns the guess counters of account userID that hold failures, read in txn.
func (l *Limiter) Counters(txn store.Txn, userID uint64) ([]Counter, error) {
	out := []Counter{}
	var decodeErr error
	now := l.now()
	err := userKeys(txn, userID, func(kind, factor string, _, v []byte) {
		if kind != "limit" {
			return
		}
		var st State
		if err := json.Unmarshal(v, &st); err != nil {
			decodeErr = err
			return
		}
		wait := st.Wait(now)
		secs := int64((wait + time.Second - 1) / time.Second)
		out = append(out, Counter{Factor: factor, Failures: st.Failures, Wait: wait, WaitSeconds: secs})
	})
	if err == nil {
		err = decodeErr
	}
	return out, err
}

// ClearUser removes every guess counter of account userID (its failures and waits) in txn;
// with sends also its send counters (for the deletion of the account). It returns how many
// records it removed.
func (l *Limiter) ClearUser(txn store.Txn, userID uint64, sends bool) (int, error) {
	var keys [][]byte
	if err := userKeys(txn, userID, func(kind, _ string, k, _ []byte) {
		if kind == "limit" || sends {
			keys = append(keys, k)
		}
	}); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
