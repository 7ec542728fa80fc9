package limit

import (
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

func (l *Limiter) readSend(txn store.Txn, sl slot) (sendState, error) {
	var st sendState
	_, err := l.load(txn, sl, &st)
	return st, err
}

// TakeSend records one send of (f, s) in txn, or returns a 429 with the wait when it is not
// allowed yet. Two transactions taking the same slot conflict, so only one commits.
func (l *Limiter) TakeSend(txn store.Txn, p SendPolicy, f Factor, s Subject) error {
	sl := l.slotOf("send", f, s)
	st, err := l.readSend(txn, sl)
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
	return l.save(txn, sl, st, 25*time.Hour)
}

// SendWait returns how long until (f, s) may send again, for the next-email endpoint.
func (l *Limiter) SendWait(p SendPolicy, f Factor, s Subject) (time.Duration, error) {
	var wait time.Duration
	err := l.store.View(func(txn store.Txn) error {
		st, err := l.readSend(txn, l.slotOf("send", f, s))
		wait = p.wait(st, l.now())
		return err
	})
	return wait, err
}
