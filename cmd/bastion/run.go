package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes of the bastion command itself (documented in the README).
const (
	exitError = 1 // the command failed; the message says why
	exitUsage = 2 // bad flags or arguments
)

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return exitUsage }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":      {"run the bastion from a config file", cmdServe},
		"init":       {"create the keys, config and policy a production bastion needs", cmdInit},
		"version":    {"print the version, commit and Go version", cmdVersion},
		"completion": {"print the bash or zsh completion script", cmdCompletion},
		"man":        {"write the man pages", cmdMan},
		"targets":    {"list the targets and logins this identity may reach (from the last login)", cmdTargets},
		"dev":        {"run the whole stack on loopback with embedded defaults", cmdDev},
		"ca":         {"certificate authority: sign and revoke user certificates", cmdCA},
		"login":      {"log in with OIDC and get a short-lived SSH certificate", cmdLogin},
		"sessions":   {"list, show and search recorded sessions", cmdSessions},
		"nodes":      {"list the nodes sharing the store and whether each is live", cmdNodes},
		"replay":     {"play back a session recording", cmdReplay},
		"audit":      {"list audit events", cmdAudit},
		"verify":     {"verify recordings, the session log and the audit trail", cmdVerify},
		"log":        {"the signed session log: print its tree head", cmdLog},
		"evidence":   {"export and verify evidence bundles for auditors", cmdEvidence},
		"retention":  {"delete recordings past retention, except those on legal hold", cmdRetention},
		"policy":     {"test a policy's command rules against a table of cases", cmdPolicy},
		"approvals":  {"list and show commands held for review (as reviewer or requester)", cmdApprovals},
		"approve":    {"approve a held command: approve ID --reason TEXT", cmdApprove},
		"deny":       {"deny a held command: deny ID --reason TEXT", cmdDeny},
		"migrate":    {"apply the store's pending schema migrations (--dry-run: list them)", cmdMigrate},
	}
}

// run is the whole program; main only maps its error to an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout, cmds)
		if len(args) == 0 {
			return usagef("missing command")
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return usagef("unknown command %q (see bastion --help)", args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func printUsage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: bastion COMMAND [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'bastion COMMAND --help' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	if c, ok := stdout.(*helpCapture); ok {
		c.flags = fs // the man pages and completions read the flags from here
	}
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: bastion %s\n\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; --help prints usage and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// Accept flags after positional arguments too (bastion replay ID --cat).
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") {
				if f := fs.Lookup(name); f != nil {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						if i+1 < len(args) {
							i++
							flags = append(flags, args[i])
						}
					}
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	if err := fs.Parse(append(flags, append([]string{"--"}, pos...)...)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// errHelp means --help was shown; the command returns nil.
var errHelp = errors.New("help shown")

func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
