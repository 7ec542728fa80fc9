// Package account keeps user accounts: an integer id, a unique email (compared
// case-insensitively) and a password hash.
package account

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/store"
)

// ErrNotFound is returned when no account matches.
var ErrNotFound = errors.New("account: not found")

// Account is one user.
type Account struct {
	ID    uint64 `json:"id"`
	Email string `json:"email"`
	// PasswordHash is the argon2id PHC string; empty when the account has no password.
	PasswordHash string    `json:"passwordHash,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time `json:"passwordChangedAt,omitempty"`
	// EmailVerified is true once the holder proved the address receives mail: a verification
	// code (GATEHOUSE_VERIFY_EMAIL), a password-reset code, or the code of the transfer that
	// moved the account to it.
	EmailVerified bool `json:"emailVerified,omitempty"`
	// Disabled accounts cannot log in (an operator's decision, POST /admin/users/{id}/disable).
	Disabled   bool      `json:"disabled,omitempty"`
	DisabledAt time.Time `json:"disabledAt,omitempty"`
	// LastLoginAt is when the password was last verified at a login that opened a session.
	LastLoginAt time.Time `json:"lastLoginAt,omitempty"`
}

// emailFormat is the "email" format of the original service's validator (ajv-formats), with
// the letters spelled out: Go's (?i) folds Unicode, so it would let U+212A (Kelvin sign) pass
// for k and U+017F (long s) for s, which the original's ASCII-only check refuses.
var emailFormat = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidEmail reports whether s has the shape of an email address (ASCII only).
func ValidEmail(s string) bool { return len(s) <= 256 && emailFormat.MatchString(s) }

// NormalizeEmail is the form emails are compared and indexed in: ASCII letters lowered, every
// other byte kept as it is (strings.ToLower would map U+212A to k, so "\u212Aate@" would
// take the index entry of "kate@").
func NormalizeEmail(email string) string {
	for i := 0; i < len(email); i++ {
		if c := email[i]; 'A' <= c && c <= 'Z' {
			b := []byte(email)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return email
}

// IDString is the id as the `sub` claim carries it.
func (a Account) IDString() string { return strconv.FormatUint(a.ID, 10) }

func userKey(id uint64) []byte     { return store.Key("user", strconv.FormatUint(id, 10)) }
func emailKey(email string) []byte { return store.Key("email", NormalizeEmail(email)) }

// Get reads the account with id.
func Get(txn store.Txn, id uint64) (Account, error) {
	v, err := txn.Get(userKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = json.Unmarshal(v, &a)
	return a, err
}

// ByEmail reads the account whose email matches, case-insensitively.
func ByEmail(txn store.Txn, email string) (Account, error) {
	v, err := txn.Get(emailKey(email))
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, err
	}
	id, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return Account{}, err
	}
	return Get(txn, id)
}

// Put writes a (new or changed) account record. It does not touch the email index.
func Put(txn store.Txn, a Account) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return txn.Set(userKey(a.ID), v, 0)
}

// Create inserts a new account; 409 EMAIL_ALREADY_IN_USE when the email is taken.
func Create(txn store.Txn, a Account) error {
	if _, err := txn.Get(emailKey(a.Email)); err == nil {
		return failure.Conflict(failure.CodeEmailAlreadyInUse)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := txn.Set(emailKey(a.Email), []byte(strconv.FormatUint(a.ID, 10)), 0); err != nil {
		return err
	}
	return Put(txn, a)
}

// ChangeEmail moves a's email to newEmail and updates the index; 409 with conflictCode when
// the new address belongs to another account.
func ChangeEmail(txn store.Txn, a Account, newEmail, conflictCode string) (Account, error) {
	if v, err := txn.Get(emailKey(newEmail)); err == nil {
		if string(v) != strconv.FormatUint(a.ID, 10) {
			return a, failure.Conflict(conflictCode)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	if err := txn.Delete(emailKey(a.Email)); err != nil {
		return a, err
	}
	a.Email = newEmail
	if err := txn.Set(emailKey(newEmail), []byte(strconv.FormatUint(a.ID, 10)), 0); err != nil {
		return a, err
	}
	return a, Put(txn, a)
}

// Delete removes the account record and its email index entry.
func Delete(txn store.Txn, a Account) error {
	if v, err := txn.Get(emailKey(a.Email)); err == nil && string(v) == a.IDString() {
		if err := txn.Delete(emailKey(a.Email)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return txn.Delete(userKey(a.ID))
}

// List calls fn for each account after the one with id after (0: from the first), in key
// order (the decimal ids sorted as text), until fn returns false.
func List(txn store.Txn, after uint64, fn func(Account) bool) error {
	prefix := store.Key("user", "")
	start := prefix
	if after != 0 {
		start = append(userKey(after), 0)
	}
	var decodeErr error
	err := store.ScanFrom(txn, prefix, start, func(_, v []byte) bool {
		var a Account
		if decodeErr = json.Unmarshal(v, &a); decodeErr != nil {
			return false
		}
		return fn(a)
	})
	if err == nil {
		err = decodeErr
	}
	return err
}

// ListByEmailPrefix calls fn for each account whose normalized email starts with the
// normalized prefix, after the address after ("" from the first), in address order, until fn
// returns false.
func ListByEmailPrefix(txn store.Txn, prefix, after string, fn func(Account) bool) error {
	scanPrefix := emailKey(prefix)
	start := scanPrefix
	if after != "" {
		start = append(emailKey(after), 0)
	}
	var innerErr error
	err := store.ScanFrom(txn, scanPrefix, start, func(_, v []byte) bool {
		id, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			innerErr = err
			return false
		}
		a, err := Get(txn, id)
		if errors.Is(err, ErrNotFound) {
			return true
		}
		if err != nil {
			innerErr = err
			return false
		}
		return fn(a)
	})
	if err == nil {
		err = innerErr
	}
	return err
}
