package multinode_test

// Benchmarks of issue 13 section 4 (`make bench`): each figure is a ratio to a baseline
// measured in the same run, in alternating rounds (BENCHMARKS.md). They do fixed work; run them
// with -benchtime 1x.

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

func benchDo(b testing.TB, method, url, bearer, body string) int {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// spread runs n jobs over workers and returns the wall time.
func spread(workers, n int, job func(worker, i int)) time.Duration {
	var wg sync.WaitGroup
	jobs := make(chan int, n)
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range jobs {
				job(w, i)
			}
		}(w)
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkTokenEndpointPostgresVsBadger: GET /user/2fa with an access token (JWT check,
// session and 2FA status from the caches) on one node on PostgreSQL against one on Badger,
// 8 clients, alternating rounds. Target: ratio >= 0.8.
func BenchmarkTokenEndpointPostgresVsBadger(b *testing.B) {
	badger := startNode(b, nil)
	pg := startNode(b, map[string]string{"GATEHOUSE_STORE": pgtest.Database(b), "GATEHOUSE_MASTER_KEY_FILE": filepath.Join(b.TempDir(), "master.key")})
	tokens := map[*node]string{}
	for _, n := range []*node{badger, pg} {
		register(b, n, "bench@example.com")
		tokens[n] = accessToken(b, n, loginAs(b, n, "bench@example.com", password))
	}
	const perRound = 4000
	rounds := 5
	took := map[*node]time.Duration{}
	for r := 0; r < rounds; r++ {
		for _, n := range []*node{badger, pg} {
			took[n] += spread(8, perRound, func(_, _ int) {
				if c := benchDo(b, "GET", n.url+"/user/2fa", tokens[n], ""); c != 200 {
					b.Fatalf("GET /user/2fa: %d", c)
				}
			})
		}
	}
	rate := func(n *node) float64 { return float64(rounds*perRound) / took[n].Seconds() }
	b.ReportMetric(rate(badger), "badger-req/s")
	b.ReportMetric(rate(pg), "postgres-req/s")
	b.ReportMetric(rate(pg)/rate(badger), "ratio")
}

// BenchmarkLoginVsArgon2Postgres: password logins on one node on PostgreSQL (the default
// argon2id parameters, 2 clients per hashing slot) against raw argon2id at the same parameters
// on as many goroutines as the node hashes at once (its default: the CPUs), and the same logins
// on one node on Badger through the same harness, alternating rounds of 20. Target: ratio >= 0.9.
// (Unlike core/server's LoginVsArgon2 the node is another process sharing the 2 cores with
// PostgreSQL and the clients: badger-ratio says what the harness costs.)
func BenchmarkLoginVsArgon2Postgres(b *testing.B) {
	slow := map[string]string{"GATEHOUSE_ARGON2_MEMORY": "19456", "GATEHOUSE_ARGON2_TIME": "2"}
	pg := startNode(b, map[string]string{
		"GATEHOUSE_STORE": pgtest.Database(b), "GATEHOUSE_MASTER_KEY_FILE": filepath.Join(b.TempDir(), "master.key"),
		"GATEHOUSE_ARGON2_MEMORY": "19456", "GATEHOUSE_ARGON2_TIME": "2",
	})
	badger := startNode(b, slow)
	hashers := runtime.NumCPU() // GATEHOUSE_HASH_CONCURRENCY's default
	clients := 2 * hashers
	for _, n := range []*node{pg, badger} {
		for i := 0; i < clients; i++ {
			register(b, n, fmt.Sprintf("u%d@example.com", i))
		}
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	const round = 20
	rounds := 5
	took := map[*node]time.Duration{}
	var hashTime time.Duration
	for r := 0; r < rounds; r++ {
		for _, n := range []*node{pg, badger} {
			took[n] += spread(clients, round, func(w, _ int) {
				if c := benchDo(b, "POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":"u%d@example.com","password":%q}`, w, password)); c != 200 {
					b.Fatalf("login: %d", c)
				}
			})
		}
		hashTime += spread(hashers, round, func(_, _ int) { argon2.IDKey([]byte(password), salt, 2, 19456, 1, 32) })
	}
	rate := func(d time.Duration) float64 { return float64(rounds*round) / d.Seconds() }
	hashes := rate(hashTime)
	b.ReportMetric(rate(took[pg]), "postgres-logins/s")
	b.ReportMetric(rate(took[badger]), "badger-logins/s")
	b.ReportMetric(hashes, "argon2/s")
	b.ReportMetric(rate(took[pg])/hashes, "ratio")
	b.ReportMetric(rate(took[badger])/hashes, "badger-ratio")
}

// BenchmarkTwoNodesVsOne: a database-bound flow (a login with a cheap hash, so the session
// write and the limiter's reads and writes dominate, then an access token) against one node,
// and spread over two nodes on the same database, 8 clients, alternating rounds. On a 2-core
// machine shared by both nodes and PostgreSQL this shows how far the database and the CPU,
// not a node, are the bottleneck.
func BenchmarkTwoNodesVsOne(b *testing.B) {
	p := startPair(b, pgtest.Database(b), nil)
	const users = 8
	for i := 0; i < users; i++ {
		register(b, p.a, fmt.Sprintf("n%d@example.com", i))
	}
	flow := func(n *node, w int) {
		code, refresh := call(b, "POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":"n%d@example.com","password":%q}`, w, password))
		if code != 200 {
			b.Fatalf("login: %d %s", code, refresh)
		}
		if c := benchDo(b, "GET", n.url+"/auth/accesstoken", refresh, ""); c != 200 {
			b.Fatalf("accesstoken: %d", c)
		}
	}
	const perRound = 400
	rounds := 5
	var one, two time.Duration
	for r := 0; r < rounds; r++ {
		one += spread(users, perRound, func(w, _ int) { flow(p.a, w) })
		two += spread(users, perRound, func(w, i int) { flow(p.node(i), w) })
	}
	rOne := float64(rounds*perRound) / one.Seconds()
	rTwo := float64(rounds*perRound) / two.Seconds()
	b.ReportMetric(rOne, "one-node-flows/s")
	b.ReportMetric(rTwo, "two-nodes-flows/s")
	b.ReportMetric(rTwo/rOne, "ratio")
}
