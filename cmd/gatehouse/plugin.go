package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse/gatehouse/host"
)

// pluginCommand runs `gatehouse plugin SUBCOMMAND`. It returns the exit code.
func pluginCommand(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, `usage: gatehouse plugin inspect [-json] FILE.wasm
       gatehouse plugin test [-json] [-config JSON|@FILE] FILE.wasm...

inspect  prints a plugin's descriptor, its hooks and the capabilities it
         imports, and whether this gatehouse can load it (exit 0 if so, 1 if not)
test     runs the conformance kit on a plugin in any language: one line per
         check, PASS or FAIL with the reason (exit 0 if none failed, 1 if not);
         gatehouse plugin test -h for its options`)
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "inspect":
		return pluginInspect(args[1:], stdout, stderr)
	case "test":
		return pluginTest(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage()
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse plugin: unknown subcommand %q\n", args[0])
	usage()
	return 2
}

func pluginInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse plugin inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: gatehouse plugin inspect [-json] FILE.wasm")
		return 2
	}
	path := fs.Arg(0)
	wasm, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse plugin inspect: %v\n", err)
		return 1
	}
	r, err := host.Inspect(context.Background(), wasm)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse plugin inspect: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		printReport(stdout, path, r)
	}
	if !r.Loadable {
		return 1
	}
	return 0
}

func printReport(w io.Writer, path string, r host.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("file", path)
	row("size", fmt.Sprintf("%d bytes", r.Size))
	row("sha256", r.SHA256)
	if r.ABIMajor > 0 {
		row("abi", fmt.Sprintf("v%d", r.ABIMajor))
	}
	if d := r.Descriptor; d != nil {
		row("abi minor", fmt.Sprintf("v%d.%d", r.ABIMajor, d.ABIMinor))
		row("id", d.ID)
		row("name", d.Name)
		row("version", d.Version)
		row("kind", string(d.Kind))
		row("description", d.Description)
		row("hooks", strings.Join(d.Hooks, ", "))
		row("declared capabilities", orNone(d.Capabilities))
		row("reason codes", orNone(d.Codes))
		if info, err := host.ResolveTwoFactorInfo(*d); err == nil && info.Route != "" {
			row("2fa route", fmt.Sprintf("/user/2fa/%s/... (summary key %q, challenges %v, weak %v, additive %v)", info.Route, info.SummaryKey, host.Challenges(*d), info.Weak, info.Additive))
			row("2fa body", fmt.Sprintf("code in %q (length %d, 0: any), setup fields %s, optional %s, JSON objects %s", info.CodeField, info.CodeLength, orNone(info.SetupFields), orNone(info.OptionalSetupFields), orNone(info.JSONFields)))
			if len(info.ClientDataFields) > 0 {
				row("2fa client data", strings.Join(info.ClientDataFields, ", "))
			}
			c := info.Codes
			row("2fa message codes", strings.Join([]string{c.Invalid, c.Uninitialized, c.Inactive, c.AlreadyInactive, c.TooMany, c.TooManySends, c.Corrupt}, ", "))
		}
		if d.ConfigSchema != "" {
			row("config schema", d.ConfigSchema)
		} else {
			row("config schema", "(takes no configuration)")
		}
	}
	row("imported capabilities", orNone(r.Capabilities))
	imports := make([]string, len(r.Imports))
	for i, im := range r.Imports {
		imports[i] = im.Module + "." + im.Name
	}
	row("imports", orNone(imports))
	row("exports", orNone(r.Exports))
	if r.Loadable {
		msg := "yes"
		if len(r.Capabilities) > 0 && r.Descriptor != nil {
			msg += fmt.Sprintf(" (once the operator grants %s to %s)", strings.Join(r.Capabilities, ", "), r.Descriptor.ID)
		}
		row("loadable", msg)
	} else {
		row("loadable", "no: "+r.Problem)
	}
	tw.Flush()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
