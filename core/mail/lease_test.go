package mail

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

// countingMailer counts deliveries per message id; block, when set, holds every delivery until
// it is closed (a worker stuck or dead in the middle of a delivery).
type countingMailer struct {
	mu    sync.Mutex
	got   map[string]int
	block chan struct{}
	// deaf makes a blocked delivery ignore its context too (a process that died mid-call).
	deaf bool
}

func (m *countingMailer) Deliver(ctx context.Context, e Envelope) error {
	if m.block != nil && m.deaf {
		<-m.block
		return errors.New("the process was gone")
	}
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	m.got[e.ID]++
	m.mu.Unlock()
	return nil
}

func (m *countingMailer) counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.got {
		out[k] = v
	}
	return out
}

// TestTwoWorkersDeliverEachMessageOnce runs two delivery workers on one store, as two nodes
// do: each queued message is claimed by one of them and delivered once.
func TestTwoWorkersDeliverEachMessageOnce(t *testing.T) {
	st := storetest.Open(t)
	tpl, _ := NewTemplates("")
	m := &countingMailer{got: map[string]int{}}
	newWorker := func() *Outbox {
		return &Outbox{Store: st, Templates: tpl, Mailer: m, From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger()}
	}
	a, b := newWorker(), newWorker()
	ctx, cancel := context.WithCancel(context.Background())
	stoppedA, stoppedB := a.Start(ctx), b.Start(ctx)
	const messages = 40
	for i := 0; i < messages; i++ {
		if err := st.Update(func(txn store.Txn) error {
			return a.Enqueue(txn, Outgoing{To: "u" + strconv.Itoa(i) + "@example.com", Purpose: PurposePasswordReset, Vars: map[string]string{"Code": "123456"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.Stats().Depth > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-stoppedA
	<-stoppedB
	got := m.counts()
	if len(got) != messages {
		t.Fatalf("%d messages delivered, want %d", len(got), messages)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("message %s delivered %d times", id, n)
		}
	}
}

// TestLeaseOfADeadWorkerEnds: a worker that claimed a message and never finished (it died) holds
// it only until its lease ends; then another worker delivers it.
func TestLeaseOfADeadWorkerEnds(t *testing.T) {
	st := storetest.Open(t)
	tpl, _ := NewTemplates("")
	stuck := &countingMailer{got: map[string]int{}, block: make(chan struct{})}
	dead := &Outbox{Store: st, Templates: tpl, Mailer: stuck, From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger(), Lease: 300 * time.Millisecond}
	deadCtx, kill := context.WithCancel(context.Background())
	deadStopped := dead.Start(deadCtx)
	if err := st.Update(func(txn store.Txn) error {
		return dead.Enqueue(txn, Outgoing{To: "a@example.com", Purpose: PurposePasswordReset, Vars: map[string]string{"Code": "1"}})
	}); err != nil {
		t.Fatal(err)
	}
	// Wait until the dead worker holds the lease (the message is no longer due).
	for {
		var leased bool
		st.View(func(txn store.Txn) error {
			return txn.Scan(outboxPrefix, func(k, v []byte) bool {
				e, err := dead.decode(k, v)
				leased = err == nil && e.NextAttempt.After(time.Now())
				return false
			})
		})
		if leased {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	m := &countingMailer{got: map[string]int{}}
	alive := &Outbox{Store: st, Templates: tpl, Mailer: m, From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger()}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := alive.Start(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for len(m.counts()) == 0 && time.Now().Before(deadline) {
		alive.Wake()
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-stopped
	kill()
	<-deadStopped
	if got := m.counts(); len(got) != 1 {
		t.Fatalf("the other worker delivered %v, want the message once after the lease", got)
	}
	if got := stuck.counts(); len(got) != 0 {
		t.Fatalf("the dead worker delivered %v", got)
	}
}

// TestRestartedNodeTakesBackItsLeases: a node killed while it held a lease takes the message
// back when it starts again, without waiting for the lease to end.
func TestRestartedNodeTakesBackItsLeases(t *testing.T) {
	st := storetest.Open(t)
	tpl, _ := NewTemplates("")
	stuck := &countingMailer{got: map[string]int{}, block: make(chan struct{}), deaf: true}
	first := &Outbox{Store: st, Templates: tpl, Mailer: stuck, NodeID: "node-a", From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger(), Lease: time.Hour}
	ctx, kill := context.WithCancel(context.Background())
	stopped := first.Start(ctx)
	if err := st.Update(func(txn store.Txn) error {
		return first.Enqueue(txn, Outgoing{To: "a@example.com", Purpose: PurposePasswordReset, Vars: map[string]string{"Code": "1"}})
	}); err != nil {
		t.Fatal(err)
	}
	for leasedBy(t, st, first) != "node-a" {
		time.Sleep(5 * time.Millisecond)
	}
	// The first run is "killed" in the middle of the delivery: its mailer never returns, so
	// nothing of it writes again while the second run works; the message stays leased.
	t.Cleanup(func() { kill(); close(stuck.block); <-stopped })

	m := &countingMailer{got: map[string]int{}}
	again := &Outbox{Store: st, Templates: tpl, Mailer: m, NodeID: "node-a", From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger(), Lease: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	stopped = again.Start(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for len(m.counts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-stopped
	if got := m.counts(); len(got) != 1 {
		t.Fatalf("after the restart %v delivered, want the message once (not after the hour-long lease)", got)
	}
}

func leasedBy(t *testing.T, st store.Store, o *Outbox) string {
	t.Helper()
	var by string
	st.View(func(txn store.Txn) error {
		return txn.Scan(outboxPrefix, func(k, v []byte) bool {
			if e, err := o.decode(k, v); err == nil {
				by = e.LeasedBy
			}
			return false
		})
	})
	return by
}
