package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"regexp"
	"sort"
	"strings"
)

// helpCapture is the stdout a command's --help is run with when its
// documentation is generated: it keeps the help text, and newFlags hands
// it the command's flag set. Man pages and shell completions are thus
// generated from the commands themselves, never written by hand.
type helpCapture struct {
	bytes.Buffer
	flags *flag.FlagSet
}

// commandDoc describes one command or subcommand.
type commandDoc struct {
	Path    []string // e.g. ["ca", "sign"]
	Summary string
	Help    string       // its --help text
	Flags   []*flag.Flag // sorted by name
	// ownFlags is true when the flag set was made for exactly this path.
	ownFlags bool
}

// Name is the command as typed after "bastion".
func (d commandDoc) Name() string { return strings.Join(d.Path, " ") }

// describeCommands runs every command and each subcommand its help names
// with --help, and returns what they say, sorted by name.
func describeCommands() []commandDoc {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []commandDoc
	for _, n := range names {
		d := describe(cmds[n], []string{n})
		d.Summary = cmds[n].summary
		out = append(out, d)
		// Subcommands are the words after "bastion NAME" in its usage.
		// ("bastion ca sign|revoke"); a candidate is one when it has a
		// flag set of its own name ("ca sign"), not an argument such as
		// "completion bash".
		sub := regexp.MustCompile(`bastion ` + regexp.QuoteMeta(n) + ` ([a-z][a-z|-]*)`)
		seen := map[string]bool{}
		for _, m := range sub.FindAllStringSubmatch(d.Help, -1) {
			for _, name := range strings.Split(m[1], "|") {
				if seen[name] {
					continue
				}
				seen[name] = true
				if sd := describe(cmds[n], []string{n, name}); sd.ownFlags {
					out = append(out, sd)
				}
			}
		}
	}
	return out
}

func describe(c command, path []string) commandDoc {
	var capture helpCapture
	// --help never does the command's work; its error (a usage error for
	// a bare parent command) does not matter here.
	_ = c.run(context.Background(), append(path[1:], "--help"), &capture, io.Discard)
	d := commandDoc{Path: path, Help: strings.TrimSpace(capture.String())}
	if capture.flags != nil {
		d.Flags = []*flag.Flag{}
		capture.flags.VisitAll(func(f *flag.Flag) { d.Flags = append(d.Flags, f) })
		d.ownFlags = capture.flags.Name() == d.Name()
	}
	return d
}

// takesValue reports whether a flag needs an argument (all but booleans).
func takesValue(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}
