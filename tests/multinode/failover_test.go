package multinode_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// TestFailover: a primary with a synchronous standby (streaming replication on loopback); two
// nodes on a multi-host URL with target_session_attrs=read-write; the primary is killed with
// kill -9 under load and the standby promoted; the nodes carry on against it, and no
// acknowledged change is lost (the standby confirmed each commit before the answer).
func TestFailover(t *testing.T) {
	primary := pgtest.Start(t)
	db := primary.NewDatabase(t) // before the base backup: the standby has it
	name := db[strings.LastIndex(db, "/")+1 : strings.Index(db, "?")]
	standby := pgtest.StartStandby(t, primary, "standby1")

	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	conn, err := pgx.Connect(ctx, primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ALTER SYSTEM SET synchronous_standby_names = 'standby1'", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Wait until the standby streams synchronously.
	for {
		var state string
		err := conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'").Scan(&state)
		if err == nil && state == "sync" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the standby is not synchronous: %v %q", err, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn.Close(ctx)

	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write", primary.Port, standby.Port, name)
	p := startPair(t, url, nil)
	l := newLedger()
	var wg sync.WaitGroup
	base := 0
	run := func(codes *sync.Map) chan struct{} {
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(id int, stop chan struct{}) { defer wg.Done(); l.worker(t, id, p.node, stop, codes) }(base+w, stop)
		}
		base += 4
		return stop
	}
	var before, during, after sync.Map
	stop := run(&before)
	time.Sleep(2 * time.Second)
	primary.Kill()
	killed := time.Now()
	t.Log("primary killed with kill -9 under load")
	close(stop)
	wg.Wait()
	logCodes(t, "answers before and at the kill", &before)

	stop = run(&during)
	time.Sleep(time.Second)
	if err := standby.Promote(); err != nil {
		t.Fatal(err)
	}
	t.Logf("standby promoted %v after the kill", time.Since(killed))
	for _, n := range []*node{p.a, p.b} {
		for i := 0; ; i++ {
			code, _ := try("POST", n.url+"/user", "", fmt.Sprintf(`{"email":"after-%d-%s@example.com","password":%q}`, i, strings.TrimPrefix(n.url, "http://127.0.0.1:"), password))
			if code == 200 {
				t.Logf("%s writes again %v after the kill", n.url, time.Since(killed))
				break
			}
			if time.Since(killed) > liveness {
				t.Fatalf("%s does not write on the promoted standby within %v: %d\n%s", n.url, liveness, code, n.logText())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	logCodes(t, "answers from the kill to the recovery", &during)
	during.Range(func(k, v any) bool {
		if strings.HasSuffix(k.(string), " 500") {
			t.Errorf("during the failover: %s answers %v (want 503 or success)", k, v)
		}
		return true
	})

	stop = run(&after)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	logCodes(t, "answers after the failover", &after)
	after.Range(func(k, v any) bool {
		if s := k.(string); strings.HasSuffix(s, " 500") || strings.HasSuffix(s, " 503") || strings.HasSuffix(s, " 0") {
			t.Errorf("after the failover: %s answers %v", s, v)
		}
		return true
	})
	t.Logf("%d acknowledged accounts verified on the promoted standby", l.verify(t, p.b))

	// The change notices survive the failover: a logout on A is refused on B.
	register(t, p.a, "failover@example.com")
	refresh := loginAs(t, p.b, "failover@example.com", password)
	access := accessToken(t, p.b, refresh)
	if code, body := call(t, "GET", p.b.url+"/auth/accesstoken/validate", access, ""); code != 200 {
		t.Fatalf("validate on B: %d %s", code, body)
	}
	if code, body := call(t, "POST", p.a.url+"/auth/logout", refresh, ""); code != 204 {
		t.Fatalf("logout on A: %d %s", code, body)
	}
	refusedOn(t, p.b, "after the failover, logout on A: access token on B", "/auth/accesstoken/validate", access, time.Now())
}
