package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gatehouse/gatehouse/core/api"
	"github.com/gatehouse/gatehouse/core/buildinfo"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/server"
)

// docsCommand prints generated documentation: `docs api` the HTTP reference (docs/API.md) from
// the route table of a server assembled with the default settings and the first-party plugins,
// `docs settings` the README's table of settings.
func docsCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse docs api|settings")
		return 2
	}
	switch args[0] {
	case "settings":
		fmt.Fprint(stdout, config.MarkdownTable())
		return 0
	case "api":
		dir, err := os.MkdirTemp("", "gatehouse-docs-")
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse docs:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg := config.Default()
		cfg.DataDir = dir
		cfg.LogLevel = "error"
		srv, err := server.Open(cfg, server.NewLogger(cfg))
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse docs:", err)
			return 1
		}
		defer srv.Close()
		stdout.Write(api.Reference(srv.Routes()))
		return 0
	}
	fmt.Fprintln(stderr, "usage: gatehouse docs api|settings")
	return 2
}

// versionCommand prints the build's version, Go version and revision.
func versionCommand(stdout io.Writer) int {
	b := buildinfo.Get()
	fmt.Fprintf(stdout, "gatehouse %s (%s, revision %s)\n", b.Version, b.GoVersion, b.Revision)
	return 0
}
