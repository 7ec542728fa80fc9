package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

// Envelope is one message in the outbox, as the mailer receives it.
type Envelope struct {
	// ID is stable across retries: mailers use it to make delivery idempotent (the Message-ID
	// header, the outbox file name).
	ID        string    `json:"id"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Purpose   string    `json:"purpose"`
	CreatedAt time.Time `json:"createdAt"`
	// RequestID names the request that queued the message, so the delivery (its plugin call
	// and log lines, in the worker) can be found with the request; "" outside a request.
	RequestID string `json:"requestId,omitempty"`
	Rendered
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	// LeasedBy is the node whose worker claimed the message (Outbox.NodeID), while it holds it.
	LeasedBy string `json:"leasedBy,omitempty"`
}

// Mailer delivers a message (the mailer plugin, through the plugin host).
type Mailer interface {
	Deliver(ctx context.Context, e Envelope) error
}

// PermanentError marks a delivery failure that retrying cannot fix (a refused address).
type PermanentError struct{ Err error }

// Error implements error.
func (p *PermanentError) Error() string { return "permanent: " + p.Err.Error() }

// Unwrap returns the cause.
func (p *PermanentError) Unwrap() error { return p.Err }

// Outgoing is a message to queue.
type Outgoing struct {
	To       string
	Purpose  string
	Vars     map[string]string
	Origin   string
	Language string
	// RequestID names the request that queues the message (auth.MailContext); optional.
	RequestID string
}

// Outbox queues rendered messages in the store and delivers them.
type Outbox struct {
	Store     store.Store
	Templates *Templates
	Mailer    Mailer
	// Sealer encrypts each queued message at rest (its codes and links are secrets): only the
	// delivery worker opens it. nil queues messages in clear, as before sealing existed.
	Sealer *seal.Sealer
	From   string
	Now    func() time.Time
	Log    hclog.Logger
	// Backoff is the first retry delay; it doubles up to an hour. Default 30 s.
	Backoff time.Duration
	// GiveUpAfter drops a message still undelivered after it. Default 24 h.
	GiveUpAfter time.Duration
	// Lease is how long a worker holds a message it claimed for delivery. Every process on a
	// shared store runs a worker; a claim is a committed write that moves the message's next
	// attempt to the end of the lease, so two workers never deliver it at once, and a worker
	// that dies holding it only delays it until the lease ends (then another delivers it).
	// Default 2 minutes (more than a delivery's 30 s timeout).
	Lease time.Duration
	// NodeID names this node's worker in its leases, the same across restarts of the node (the
	// server keeps it in the data folder). A worker starting takes back at once the leases its
	// node held: they belong to an incarnation that died (kill -9) in the middle of a delivery,
	// so its messages need not wait for the lease to end. Empty: no lease is taken back.
	NodeID string

	wake      chan struct{}
	delivered atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
}

var outboxPrefix = store.Key("outbox", "")

// sealedMarker starts a sealed outbox record; a record without it is the clear JSON of an
// Envelope (queued before sealing, or with no Sealer) and is read as before.
var sealedMarker = []byte("sealed1\x00")

// errSealed is a sealed record that does not open: no Sealer, or another master key.
var errSealed = errors.New("mail: a queued message is sealed with a key this server does not have")

// encode is the stored form of e under key: sealed when the outbox has a Sealer.
func (o *Outbox) encode(key []byte, e Envelope) ([]byte, error) {
	v, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if o.Sealer == nil {
		return v, nil
	}
	return append(append([]byte{}, sealedMarker...), o.Sealer.Seal(key, v)...), nil
}

// decode reads a stored record: sealed, or clear JSON.
func (o *Outbox) decode(key, v []byte) (Envelope, error) {
	var e Envelope
	if sealed, ok := bytes.CutPrefix(v, sealedMarker); ok {
		if o.Sealer == nil {
			return e, errSealed
		}
		plain, err := o.Sealer.Open(key, sealed)
		if err != nil {
			return e, errSealed
		}
		v = plain
	}
	return e, json.Unmarshal(v, &e)
}

// Enqueue renders m and writes it to the outbox in txn: it is sent only if txn commits, and
// survives a crash once it has. Rendering errors (no template) fail the transaction.
func (o *Outbox) Enqueue(txn store.Txn, m Outgoing) error {
	r, err := o.Templates.Render(m.Purpose, m.Origin, m.Language, m.Vars)
	if err != nil {
		return err
	}
	now := o.Now().UTC()
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	id := fmt.Sprintf("%016x-%s", now.UnixNano(), hex.EncodeToString(rnd[:]))
	e := Envelope{ID: id, From: o.From, To: []string{m.To}, Purpose: m.Purpose, CreatedAt: now, RequestID: m.RequestID, Rendered: r, NextAttempt: now}
	key := append(append([]byte{}, outboxPrefix...), id...)
	v, err := o.encode(key, e)
	if err != nil {
		return err
	}
	if err := txn.Set(key, v, 0); err != nil {
		return err
	}
	// Every worker on the store is woken once the message is committed (waking before the
	// commit could find nothing and sleep a minute).
	txn.Notify(store.TopicOutbox, "")
	return nil
}

// Wake tells the worker to look at the outbox (after a commit).
func (o *Outbox) Wake() {
	if o.wake == nil {
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Stats are the outbox counters for metrics.
type Stats struct {
	Delivered, Failed, Dropped uint64
	Depth                      int
}

// Stats reports the counters and the current queue depth.
func (o *Outbox) Stats() Stats {
	depth := 0
	_ = o.Store.View(func(txn store.Txn) error {
		return txn.Scan(outboxPrefix, func(_, _ []byte) bool { depth++; return true })
	})
	return Stats{Delivered: o.delivered.Load(), Failed: o.failed.Load(), Dropped: o.dropped.Load(), Depth: depth}
}

// Start runs the delivery worker until ctx is done; the returned channel closes when it stopped.
func (o *Outbox) Start(ctx context.Context) <-chan struct{} {
	o.wake = make(chan struct{}, 1)
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	o.Store.Subscribe(store.TopicOutbox, func(string) { o.Wake() })
	if err := o.releaseOwnLeases(); err != nil {
		o.Log.Error("outbox: cannot take back the leases of this node's previous run; they end by themselves", "error", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			next := o.deliverDue(ctx)
			wait := time.Until(next)
			if next.IsZero() || wait > time.Minute {
				wait = time.Minute
			}
			timer := time.NewTimer(max(wait, 10*time.Millisecond))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-o.wake:
			case <-timer.C:
			}
			timer.Stop()
		}
	}()
	return done
}

// deliverDue sends every due message once and returns when the next one is due (zero: none).
func (o *Outbox) deliverDue(ctx context.Context) time.Time {
	var due []Envelope
	var next time.Time
	unreadable := 0
	now := o.Now()
	err := o.Store.View(func(txn store.Txn) error {
		return txn.Scan(outboxPrefix, func(k, v []byte) bool {
			e, err := o.decode(k, v)
			if err != nil {
				unreadable++ // kept: it may open once the right master key is back
				return true
			}
			if !e.NextAttempt.After(now) {
				due = append(due, e)
			} else if next.IsZero() || e.NextAttempt.Before(next) {
				next = e.NextAttempt
			}
			return len(due) < 100
		})
	})
	if err != nil {
		o.Log.Error("outbox scan failed", "error", err)
		return now.Add(time.Second)
	}
	if unreadable > 0 {
		o.Log.Error("outbox: queued messages that do not open are kept undelivered", "count", unreadable, "error", errSealed)
	}
	for _, e := range due {
		if ctx.Err() != nil {
			return next
		}
		claimed, ok, err := o.claim(e.ID)
		if err != nil {
			o.Log.Error("outbox: cannot claim message", "message", e.ID, "error", err)
			continue
		}
		if !ok {
			continue // another worker has it, or it is gone
		}
		if t := o.deliver(ctx, claimed); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(due) == 100 {
		return now // more are waiting
	}
	return next
}

// releaseOwnLeases makes every message leased by this node (a previous run that died) due now.
func (o *Outbox) releaseOwnLeases() error {
	if o.NodeID == "" {
		return nil
	}
	return o.Store.Update(func(txn store.Txn) error {
		type leased struct {
			key []byte
			e   Envelope
		}
		var own []leased
		if err := txn.Scan(outboxPrefix, func(k, v []byte) bool {
			if e, err := o.decode(k, v); err == nil && e.LeasedBy == o.NodeID {
				own = append(own, leased{k, e})
			}
			return true
		}); err != nil {
			return err
		}
		for _, l := range own {
			l.e.LeasedBy = ""
			l.e.NextAttempt = o.Now().UTC()
			v, err := o.encode(l.key, l.e)
			if err != nil {
				return err
			}
			if err := txn.Set(l.key, v, 0); err != nil {
				return err
			}
		}
		if len(own) > 0 {
			o.Log.Info("outbox: took back the messages this node held when it stopped", "count", len(own))
		}
		return nil
	})
}

// claim takes the message id for delivery for one lease: in one transaction it checks the
// message is still there and due, and moves its next attempt to the end of the lease. ok is
// false when another worker claimed it first or it left the outbox.
func (o *Outbox) claim(id string) (e Envelope, ok bool, err error) {
	key := append(append([]byte{}, outboxPrefix...), id...)
	err = o.Store.Update(func(txn store.Txn) error {
		ok = false
		v, err := txn.Get(key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if e, err = o.decode(key, v); err != nil {
			return err
		}
		now := o.Now()
		if e.NextAttempt.After(now) {
			return nil
		}
		leased := e
		leased.NextAttempt = now.Add(o.Lease).UTC()
		leased.LeasedBy = o.NodeID
		stored, err := o.encode(key, leased)
		if err != nil {
			return err
		}
		ok = true
		return txn.Set(key, stored, 0)
	})
	return e, ok, err
}

// deliver sends one message; on success it is removed, on failure rescheduled. It returns the
// next attempt time, or zero when the message left the outbox.
func (o *Outbox) deliver(ctx context.Context, e Envelope) time.Time {
	key := append(append([]byte{}, outboxPrefix...), e.ID...)
	log := o.Log
	if e.RequestID != "" {
		log = log.With("request_id", e.RequestID)
	}
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := o.Mailer.Deliver(callCtx, e)
	cancel()
	if err == nil {
		o.delivered.Add(1)
		if err := o.Store.Update(func(txn store.Txn) error { return txn.Delete(key) }); err != nil {
			log.Error("outbox: delivered but not removed; it may be sent again", "message", e.ID, "error", err)
		}
		log.Debug("mail delivered", "message", e.ID, "purpose", e.Purpose)
		return time.Time{}
	}
	o.failed.Add(1)
	e.Attempts++
	e.LastError = err.Error()
	var perm *PermanentError
	if errors.As(err, &perm) || o.Now().Sub(e.CreatedAt) > o.GiveUpAfter {
		o.dropped.Add(1)
		log.Error("mail dropped", "message", e.ID, "purpose", e.Purpose, "attempts", e.Attempts, "error", err)
		if err := o.Store.Update(func(txn store.Txn) error { return txn.Delete(key) }); err != nil {
			log.Error("outbox: cannot drop message", "message", e.ID, "error", err)
		}
		return time.Time{}
	}
	delay := o.Backoff << min(e.Attempts-1, 10)
	e.NextAttempt = o.Now().Add(min(delay, time.Hour)).UTC()
	log.Warn("mail delivery failed; will retry", "message", e.ID, "purpose", e.Purpose, "attempts", e.Attempts, "retry_at", e.NextAttempt, "error", err)
	v, err := o.encode(key, e)
	if err == nil {
		err = o.Store.Update(func(txn store.Txn) error { return txn.Set(key, v, 0) })
	}
	if err != nil {
		log.Error("outbox: cannot reschedule message", "message", e.ID, "error", err)
	}
	return e.NextAttempt
}

// DropTo removes in txn every queued message addressed to one of addresses (compared without
// regard to ASCII case): the mail of an account being deleted. It returns how many it removed.
// A message that does not open (sealed with another master key) is kept.
func (o *Outbox) DropTo(txn store.Txn, addresses []string) (int, error) {
	want := map[string]bool{}
	for _, a := range addresses {
		if a != "" {
			want[lowerASCII(a)] = true
		}
	}
	if len(want) == 0 {
		return 0, nil
	}
	var drop [][]byte
	if err := txn.Scan(outboxPrefix, func(k, v []byte) bool {
		e, err := o.decode(k, v)
		if err != nil {
			return true
		}
		for _, to := range e.To {
			if want[lowerASCII(to)] {
				drop = append(drop, k)
				break
			}
		}
		return true
	}); err != nil {
		return 0, err
	}
	for _, k := range drop {
		if err := txn.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
