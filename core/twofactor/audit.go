package twofactor

import (
	"context"

	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/store"
)

// The 2FA framework's audit events (core/audit), each written in the transaction of its change:
// a right code in its commit, a wrong one in a transaction of its own (or with the state the
// method kept), the first refusal of each wait in the limiter's reservation.

// record writes one event about userID with the method's id in txn.
func (s *Service) record(ctx context.Context, txn store.Txn, userID uint64, method, typ, outcome string) error {
	e := audit.Event{Type: typ, UserID: userID, Outcome: outcome}
	if method != "" {
		e.Detail = map[string]string{"method": method}
	}
	return s.Auth.Audit.Record(ctx, txn, e)
}

// refusedEvent is the limiter's hook that records a throttled code check (GuessNoting).
func (s *Service) refusedEvent(ctx context.Context, userID uint64, method, typ string) func(store.Txn) error {
	return func(txn store.Txn) error { return s.record(ctx, txn, userID, method, typ, audit.Throttled) }
}

// withEvent returns commit (nil: nothing else to write) followed by the event.
func (s *Service) withEvent(ctx context.Context, userID uint64, method, typ, outcome string, commit func(store.Txn) error) func(store.Txn) error {
	return func(txn store.Txn) error {
		if commit != nil {
			if err := commit(txn); err != nil {
				return err
			}
		}
		return s.record(ctx, txn, userID, method, typ, outcome)
	}
}
