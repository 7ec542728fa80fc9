// Command gatehouse is the Gatehouse authentication server and its admin commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/server"
	"github.com/gatehouse/gatehouse/core/store"
)

const usage = `gatehouse: a self-hosted authentication server

Usage:
  gatehouse serve [flags]                 start the server (gatehouse serve --help lists every setting)
  gatehouse user create --email E [flags] create an account; the password is read from stdin
  gatehouse user list|show|disable|enable|delete|reset-2fa|revoke-sessions|clear-limits|import ...
                                          the admin API of the running server (gatehouse user for help)
  gatehouse plugin inspect FILE.wasm      describe a plugin and say whether this host can load it
  gatehouse backup [--data DIR] FILE      write an online backup of the store (the server may run)
  gatehouse restore [--data DIR] FILE     load a backup into an empty store (the server must be stopped)
  gatehouse migrate [--store URL]         bring the PostgreSQL schema to this binary's version
  gatehouse keys rotate [--data DIR]      start signing with a new key; tokens of the old one stay valid
  gatehouse docs api|settings             print the HTTP reference (docs/API.md) or the settings table
  gatehouse version                       print the version, the Go version and the source revision
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "user":
		return userCommand(args[1:], stdin, stdout, stderr)
	case "plugin":
		return pluginCommand(args[1:], stdout, stderr)
	case "backup":
		return backupCommand(args[1:], stdout, stderr)
	case "restore":
		return restoreCommand(args[1:], stdout, stderr)
	case "migrate":
		return migrateCommand(args[1:], stdout, stderr)
	case "keys":
		return keysCommand(args[1:], stdout, stderr)
	case "docs":
		return docsCommand(args[1:], stdout, stderr)
	case "version", "--version":
		return versionCommand(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// parseConfig parses the settings flags (and extra flags the caller registered) of a command.
func parseConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	finish := config.Bind(fs, os.LookupEnv)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	return finish()
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := parseConfig(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := server.NewLogger(cfg)
	for _, w := range config.UnknownEnv(os.Environ()) {
		log.Warn(w)
	}
	raiseGOMAXPROCS()
	srv, err := server.Open(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Serve(ctx, nil); err != nil {
		log.Error("server stopped", "error", err)
		return 1
	}
	return 0
}

// raiseGOMAXPROCS gives the Go scheduler more processors than there are CPUs (unless the
// operator set GOMAXPROCS). Plugin code running in wazero is not preempted by the scheduler, so
// while plugin calls (at most one per CPU, see host.Config.MaxConcurrentCalls) hold processors,
// the spare ones keep serving every other request; the OS shares the CPUs between them.
func raiseGOMAXPROCS() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	n := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(max(2*n, n+2))
}

func userCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the new account (required)")
	cfg, err := parseConfig(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *email == "" {
		fmt.Fprintln(stderr, "gatehouse user create: --email is required")
		return 2
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "gatehouse user create: reading the password from stdin:", err)
		return 1
	}
	pw := strings.TrimRight(line, "\r\n")
	if !store.IsPostgresURL(cfg.Store) {
		if code, ok := createOnline(cfg.DataDir, *email, pw, stdout, stderr); ok {
			return code
		}
	}
	cfg.LogLevel = "warn"
	srv, err := server.Open(cfg, server.NewLogger(cfg))
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse user create:", err, "(is the server running on this data folder? stop it first)")
		return 1
	}
	defer srv.Close()
	id, err := srv.Auth().Register(context.Background(), *email, pw, true)
	if err != nil {
		if fe, ok := failure.As(err); ok {
			fmt.Fprintln(stderr, "gatehouse user create:", fe.Code)
		} else {
			fmt.Fprintln(stderr, "gatehouse user create:", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "created user %d (%s)\n", id, *email)
	return 0
}
