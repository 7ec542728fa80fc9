package limit

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/store"
)

// SendPolicy is the send limiter of spec section 3: one email per Interval, at most PerDay in
// 24 hours, per (user or target address, purpose).
type SendPolicy struct {
	Interval time.Duration
	PerDay   int
}

// DefaultSendPolicy is the spec's: one per 60 s, 10 a day.
var DefaultSendPolicy = SendPolicy{Interval: time.Minute, PerDay: 10}

// sendState is the persisted state of one (purpose, subject).
type sendState struct {
	Last        time.Time `json:"last"`
	WindowStart time.Time `json:"windowStart"`
	Count       int       `json:"count"`
}

func sendKey(f Factor, s Subject) []byte { return store.Key("send", f.Name, s.Key) }

func (p SendPolicy) wait(st sendState, now time.Time) time.Duration {
	var until time.Time
	if !st.Last.IsZero() {
		until = st.Last.Add(p.Interval)
	}
	if st.Count >= p.PerDay {
		if end := st.WindowStart.Add(24 * time.Hour); end.After(until) {
			until = end
		}
	}
	if d := until.Sub(now); d > 0 {
		return d
	}
	return 0
}

func readSend(txn store.Txn, k []byte) (sendState, error) {
	var st sendState
	v, err := txn.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(v, &st)
}

// TakeSend records one send of (f, s) in txn, or returns a 429 with the wait when it is not
// allowed yet. Two transactions taking the same slot conflict, so only one commits.
func (l *Limiter) TakeSend(txn store.Txn, p SendPolicy, f Factor, s Subject) error {
	k := sendKey(f, s)
	st, err := readSend(txn, k)
	if err != nil {
		return err
	}
	now := l.now()
	if wait := p.wait(st, now); wait > 0 {
		metrics.Throttled.WithLabelValues(f.Name).Inc()
		return failure.TooManyRequests(f.Code, wait)
	}
	if now.Sub(st.WindowStart) >= 24*time.Hour {
		st.WindowStart, st.Count = now, 0
	}
	st.Last = now
	st.Count++
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return txn.Set(k, v, 25*time.Hour)
}

// SendWait returns how long until (f, s) may send again, for the next-email endpoint.
func (l *Limiter) SendWait(p SendPolicy, f Factor, s Subject) (time.Duration, error) {
	var wait time.Duration
	err := l.store.View(func(txn store.Txn) error {
		st, err := readSend(txn, sendKey(f, s))
		wait = p.wait(st, l.now())
		return err
	})
	return wait, err
}
