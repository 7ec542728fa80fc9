package host_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	defaultpolicy "github.com/gatehouse/gatehouse/plugins/password-default/policy"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/password"
)

// Benchmarks (see the figures in host/RATIONALE.md):
//
//	go test -run '^$' -bench . -benchtime 2s ./host/
//
// Each reports ratios against a baseline measured in the same run; none
// asserts a time.

var benchInputs = []abi.PasswordCheckRequest{
	{Password: "GoodPassw0rd", Email: "jane.doe@example.com", Field: "newPassword", ServiceName: "Gatehouse"},
	{Password: "short", Email: "jane.doe@example.com", Field: "newPassword", ServiceName: "Gatehouse"},
}

// BenchmarkPasswordCheck compares one check of the default policy through
// the host (encode, pool, deadline, call with back-edge deadline checks on,
// decode) with the same policy's Go code called natively, in the same run:
// x-native is wasm ns / native ns. The WAT plugin that accepts everything
// shows the host's fixed cost per call.
func BenchmarkPasswordCheck(b *testing.B) {
	h := newHost(b, host.Config{CallTimeout: time.Second})
	mustLoad(b, h, "password-default", defaultPolicyWasm(b))
	mustLoad(b, h, "ok", fixture(b, "ok"))
	def, ok := policy(b, h, "password.default"), policy(b, h, "password.wat-ok")
	ctx := context.Background()
	native := func(in abi.PasswordCheckRequest) int {
		return len(defaultpolicy.Policy{}.Check(&password.Request{Now: time.Now(), Password: in.Password, Email: in.Email, Field: in.Field, ServiceName: in.ServiceName}))
	}
	b.Run("ratio", func(b *testing.B) {
		var sink int
		start := time.Now()
		for i := 0; i < b.N; i++ {
			sink += native(benchInputs[i&1])
		}
		nativeNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		start = time.Now()
		for i := 0; i < b.N; i++ {
			v, err := def.Check(ctx, benchInputs[i&1])
			if err != nil {
				b.Fatal(err)
			}
			sink += len(v)
		}
		wasmNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		start = time.Now()
		for i := 0; i < b.N; i++ {
			if _, err := ok.Check(ctx, benchInputs[i&1]); err != nil {
				b.Fatal(err)
			}
		}
		emptyNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		b.ReportMetric(nativeNs, "native-ns/op")
		b.ReportMetric(wasmNs, "wasm-ns/op")
		b.ReportMetric(emptyNs, "wat-empty-ns/op")
		b.ReportMetric(wasmNs/nativeNs, "x-native")
		if sink < 0 {
			b.Fatal(sink)
		}
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			native(benchInputs[i&1])
		}
	})
	b.Run("wasm", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := def.Check(ctx, benchInputs[i&1]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wat-empty", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ok.Check(ctx, benchInputs[i&1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput runs checks of the default policy from 1 and 2
// goroutines against a pool of 2 instances; calls/s is the figure, and
// x-1goroutine the scaling in the same run.
func BenchmarkThroughput(b *testing.B) {
	h := newHost(b, host.Config{PoolSize: 2, CallTimeout: time.Second})
	mustLoad(b, h, "password-default", defaultPolicyWasm(b))
	def := policy(b, h, "password.default")
	ctx := context.Background()
	// Make the second instance before timing.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); def.Check(ctx, benchInputs[0]) }()
	}
	wg.Wait()
	run := func(goroutines, n int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < n; i += goroutines {
					if _, err := def.Check(ctx, benchInputs[i&1]); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	b.Run("1-vs-2-goroutines", func(b *testing.B) {
		one := run(1, b.N)
		two := run(2, b.N)
		b.ReportMetric(one, "calls/s-1g")
		b.ReportMetric(two, "calls/s-2g")
		b.ReportMetric(two/one, "x-1goroutine")
	})
}

// BenchmarkStartToReady is the host's part of server start: New, Load of
// the default policy and the first check answered, with an empty
// compilation cache (cold) and with one already filled (warm).
func BenchmarkStartToReady(b *testing.B) {
	wasm := defaultPolicyWasm(b)
	ctx := context.Background()
	start := func(b *testing.B, dir string) {
		h, err := host.New(ctx, host.Config{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Load(ctx, "password-default", wasm); err != nil {
			b.Fatal(err)
		}
		pp, err := h.PasswordPolicy("password.default")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pp.Check(ctx, benchInputs[0]); err != nil {
			b.Fatal(err)
		}
		h.Close(ctx)
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dir := filepath.Join(b.TempDir(), "cache")
			start(b, dir)
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "cache")
		start(b, dir)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start(b, dir)
		}
	})
}
