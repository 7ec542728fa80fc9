package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/host/conformance"
)

// pluginTest runs `gatehouse plugin test [flags] FILE.wasm...`: the
// conformance kit (package host/conformance) on each file, with its report
// on stdout. It returns 0 when no check failed, 1 when one did, 2 for a usage
// error.
func pluginTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse plugin test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	config := fs.String("config", "", "the plugin's JSON configuration, inline or @FILE (default: none)")
	timeout := fs.Duration("timeout", 2*time.Second, "the deadline of each plugin call")
	conns := fs.String("http-connections", "email-api,default", "names of the http connections the test double answers on (comma-separated)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: gatehouse plugin test [-json] [-config JSON|@FILE] [-timeout D] FILE.wasm...

Loads each plugin as an operator would (granting the capabilities it declares,
with test doubles behind smtp, http and outbox) and checks it against the ABI:
load checks, describe and configure, every declared hook with valid and
hostile inputs, a twofactor method's state round trip and replay keys.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	opts := conformance.Options{CallTimeout: *timeout, HTTPConnections: strings.Split(*conns, ",")}
	if *config != "" {
		raw := []byte(*config)
		if name, ok := strings.CutPrefix(*config, "@"); ok {
			b, err := os.ReadFile(name)
			if err != nil {
				fmt.Fprintf(stderr, "gatehouse plugin test: -config: %v\n", err)
				return 2
			}
			raw = b
		}
		if !json.Valid(raw) {
			fmt.Fprintln(stderr, "gatehouse plugin test: -config is not valid JSON")
			return 2
		}
		opts.Config = raw
	}
	if dir, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = dir + "/gatehouse/wazero"
	}
	failed := 0
	var reports []conformance.Report
	for _, path := range fs.Args() {
		r := conformance.RunFile(context.Background(), path, opts)
		if r.Failed() > 0 {
			failed++
		}
		if *asJSON {
			reports = append(reports, r)
			continue
		}
		r.Write(stdout)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(reports)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
