package server

import (
	"time"

	"github.com/hashicorp/go-hclog"
)

// stepTimer logs, at debug level, how long each step of the start-up took and the time since
// the first step ("start-up step" lines: GATEHOUSE_LOG_LEVEL=debug), so that where the start
// goes is visible without a profiler (BENCHMARKS.md, start-up).
type stepTimer struct {
	log         hclog.Logger
	first, last time.Time
}

func newStepTimer(log hclog.Logger) *stepTimer {
	now := time.Now()
	return &stepTimer{log: log.Named("startup"), first: now, last: now}
}

// step logs the step that just ended. A nil timer (a Server not made by Open) logs nothing.
func (t *stepTimer) step(name string) {
	if t == nil {
		return
	}
	now := time.Now()
	t.log.Debug("start-up step", "step", name, "duration", now.Sub(t.last).Round(10*time.Microsecond), "since_open", now.Sub(t.first).Round(10*time.Microsecond))
	t.last = now
}
