package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// StartStandby starts a streaming-replication standby of primary for t (pg_basebackup -R into
// a new temp folder, a free loopback port, named application_name), stopped and removed in
// t.Cleanup. Make it synchronous on the primary with
// ALTER SYSTEM SET synchronous_standby_names = '<name>' and SELECT pg_reload_conf().
func StartStandby(t testing.TB, primary *Cluster, name string) *Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "gatehouse-pg-standby-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Bin: primary.Bin, cred: primary.cred}
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(dir)
	})
	if err := c.startStandby(primary, name); err != nil {
		t.Fatalf("pgtest: standby: %v\n%s", err, c.logTail())
	}
	return c
}

func (c *Cluster) startStandby(primary *Cluster, name string) error {
	if c.cred != nil {
		if err := os.Chmod(c.Dir, 0o755); err != nil {
			return err
		}
	}
	for _, sub := range []string{"data", "run"} {
		p := filepath.Join(c.Dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		if c.cred != nil {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return err
			}
		}
	}
	backup := c.command(filepath.Join(c.Bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port),
		"-U", "postgres", "-D", c.dataDir(), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	if out, err := backup.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_basebackup: %v\n%s", err, out)
	}
	// -R wrote primary_conninfo without a name: the last setting wins.
	conf := fmt.Sprintf("\nprimary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=%s'\n", primary.Port, name)
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	return c.run()
}

// Kill kills the postmaster with SIGKILL (kill -9) and waits for it to exit.
func (c *Cluster) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

// Promote promotes a standby to a primary (pg_ctl promote, waiting until it is done).
func (c *Cluster) Promote() error {
	out, err := c.command(filepath.Join(c.Bin, "pg_ctl"), "promote", "-w", "-D", c.dataDir()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl promote: %v\n%s", err, out)
	}
	return nil
}
