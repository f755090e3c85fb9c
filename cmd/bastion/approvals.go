package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// approvalsUser is the bastion's reserved SSH user for the approval desk
// (server.ApprovalsUser; kept here so the CLI does not link the server).
const approvalsUser = "bastion-approvals"

// deskFailed carries the desk's own exit status (1 refused, 2 usage).
type deskFailed struct{ code int }

func (e *deskFailed) Error() string { return fmt.Sprintf("approval desk exited %d", e.code) }
func (e *deskFailed) ExitCode() int { return e.code }
func (e *deskFailed) silent() bool  { return true }

// cmdApprovals is `bastion approvals list|show`.
func cmdApprovals(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show") {
		fmt.Fprintln(stdout, "usage: bastion approvals list [--json] [--all] | show ID [--json]  [--dir DIR] [--ssh-config FILE] [--host ALIAS]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("approvals: want list or show")
	}
	return runDesk(ctx, args[0], args[1:], stdout, stderr)
}

// cmdApprove is `bastion approve ID --reason TEXT`.
func cmdApprove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runDesk(ctx, "approve", args, stdout, stderr)
}

// cmdDeny is `bastion deny ID --reason TEXT`.
func cmdDeny(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runDesk(ctx, "deny", args, stdout, stderr)
}

// runDesk asks the bastion's approval desk over SSH, authenticated by the
// caller's own bastion certificate (from `bastion login`): the same
// credential that runs commands decides them, and nothing here reads the
// bastion's database.
func runDesk(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(verb, verb+" [ID] [--reason TEXT] [--json] [--all] [--dir DIR] [--ssh-config FILE] [--host ALIAS]", stdout)
	dir := fs.String("dir", defaultLoginDir(), "the directory bastion login wrote")
	sshConfig := fs.String("ssh-config", "", "ssh_config to use (default: DIR/ssh_config)")
	host := fs.String("host", "bastion", "the bastion's Host name in that ssh_config")
	reason := fs.String("reason", "", "why (required to approve or deny)")
	jsonOut := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "list closed requests too")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	words := []string{verb}
	switch verb {
	case "list":
		if fs.NArg() != 0 {
			return usagef("approvals list takes no arguments")
		}
	default:
		if fs.NArg() != 1 {
			return usagef("%s: want one request id", verb)
		}
		words = append(words, fs.Arg(0))
	}
	if verb == "approve" || verb == "deny" {
		if strings.TrimSpace(*reason) == "" {
			return usagef("%s: --reason TEXT is required", verb)
		}
		words = append(words, "--reason", *reason)
	}
	if *jsonOut {
		words = append(words, "--json")
	}
	if *all {
		words = append(words, "--all")
	}
	cfg := *sshConfig
	if cfg == "" {
		cfg = filepath.Join(*dir, loginSSHConfig)
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	cmd := exec.CommandContext(ctx, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-T", approvalsUser+"@"+*host, strings.Join(quoted, " "))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &deskFailed{code: ee.ExitCode()}
	}
	return err
}

// shellQuote single-quotes s for the desk's word splitter (and a shell).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
