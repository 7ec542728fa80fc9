package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// An instance unused for IdleTimeout is dropped, and the next call makes a new one.
func TestIdleInstancesDropped(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, host.Config{IdleTimeout: 20 * time.Millisecond})
	mustLoad(t, h, "ok", fixture(t, "ok"))
	if st := status(t, h, "password.wat-ok"); st.Instances != 1 {
		t.Fatalf("after load: %+v, want the describing instance kept", st)
	}
	// The reaper runs every 10 ms here; wait (without a deadline that could fail a slow
	// machine: the test's own timeout bounds it) until it has dropped the idle instance.
	for status(t, h, "password.wat-ok").Instances != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if st := status(t, h, "password.wat-ok"); st.Discarded < 1 {
		t.Fatalf("status %+v, want the idle instance counted as discarded", st)
	}
	if _, err := policy(t, h, "password.wat-ok").Check(ctx, abi.PasswordCheckRequest{Password: "x"}); err != nil {
		t.Fatalf("a call after the drop: %v", err)
	}
	if st := status(t, h, "password.wat-ok"); st.Created < 2 {
		t.Fatalf("status %+v, want a new instance made for the call", st)
	}
}

// A negative IdleTimeout keeps idle instances.
func TestIdleInstancesKept(t *testing.T) {
	h := newHost(t, host.Config{IdleTimeout: -1})
	mustLoad(t, h, "ok", fixture(t, "ok"))
	time.Sleep(50 * time.Millisecond)
	if st := status(t, h, "password.wat-ok"); st.Instances != 1 || st.Discarded != 0 {
		t.Fatalf("status %+v, want the instance kept", st)
	}
}
