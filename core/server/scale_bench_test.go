package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
)

// scaleUsers is the large store of BenchmarkStoreScale: 1,000,000 by default; set
// GATEHOUSE_SCALE_USERS to try another size.
func scaleUsers() int {
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_SCALE_USERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkStoreScale compares login latency (p50, p99) and the data folder's size per user of
// a store with 1,000 users against one with 1,000,000 (created directly through the store API),
// in the same run. Logins use cheap argon2 parameters so the store's share is visible; with
// the default parameters a login is ~20 ms of hashing on top.
func BenchmarkStoreScale(b *testing.B) {
	type result struct {
		p50, p99     time.Duration
		bytesPerUser float64
	}
	measure := func(users int) result {
		cfg := config.Default()
		cfg.DataDir = b.TempDir()
		cfg.PluginCache = "../../.cache/plugin-cache"
		cfg.Argon2Memory, cfg.Argon2Time = 64, 1
		srv, err := Open(cfg, hclog.NewNullLogger())
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		hash, err := srv.auth.Hasher.Hash(context.Background(), "Passw0rdX")
		if err != nil {
			b.Fatal(err)
		}
		const batch = 2000
		now := time.Now().UTC()
		for start := 1; start <= users; start += batch {
			err := srv.store.Update(func(txn store.Txn) error {
				for id := start; id < start+batch && id <= users; id++ {
					a := account.Account{ID: uint64(id), Email: fmt.Sprintf("u%d@example.com", id), PasswordHash: hash, CreatedAt: now}
					if err := account.Create(txn, a); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		c := inProcess{b, srv}
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			body := fmt.Sprintf(`{"username":"u%d@example.com","password":"Passw0rdX"}`, 1+rand.IntN(users))
			t0 := time.Now()
			if code, resp := c.do("POST", "/auth/login", "", body); code != 200 {
				b.Fatal(code, string(resp))
			}
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if err := srv.store.(*store.Badger).DB().Flatten(2); err != nil {
			b.Fatal(err)
		}
		return result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], bytesPerUser: float64(srv.store.Size()) / float64(users)}
	}
	b.StopTimer()
	small, large := measure(1000), measure(scaleUsers())
	b.ReportMetric(float64(small.p50.Microseconds()), "p50-µs-1k")
	b.ReportMetric(float64(small.p99.Microseconds()), "p99-µs-1k")
	b.ReportMetric(float64(large.p50.Microseconds()), "p50-µs-large")
	b.ReportMetric(float64(large.p99.Microseconds()), "p99-µs-large")
	b.ReportMetric(large.bytesPerUser, "bytes/user-large")
	b.ReportMetric(float64(large.p99)/float64(small.p99), "p99-ratio")
}
