// Command pgcluster starts a private PostgreSQL cluster (internal/pgtest: a temp folder, a free
// loopback port, an unprivileged user when run as root) for test suites outside Go
// (tests/blackbox/lib.mjs under GATEHOUSE_BB_STORE=postgres).
//
// Protocol on stdin/stdout, one line each: it prints "ready <admin URL>" once the cluster
// accepts connections (or "error <message>" and exits 1); each "db" line read creates an
// empty database and prints "db <URL>"; "stop" stops the server and prints "stopped";
// "start" starts it again on the same port and prints "started". At the end of stdin (the
// parent exited or closed the pipe) the cluster is stopped and its folder removed.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

func main() {
	c, err := pgtest.Launch()
	if err != nil {
		fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(1)
	}
	// A signal to the helper also removes the cluster.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		c.Close()
		os.Exit(1)
	}()
	defer c.Close()
	fmt.Printf("ready %s\n", c.URL("postgres"))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "db":
			u, err := c.CreateDatabase()
			if err != nil {
				fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " | "))
				continue
			}
			fmt.Printf("db %s\n", u)
		case "stop":
			c.Stop()
			fmt.Println("stopped")
		case "start":
			if err := c.Restart(); err != nil {
				fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " | "))
				continue
			}
			fmt.Println("started")
		case "":
		default:
			fmt.Printf("error unknown command %q\n", in.Text())
		}
	}
}
