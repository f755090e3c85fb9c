package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/bastion-ssh/bastion/cmdjudge"
	"github.com/bastion-ssh/bastion/policies"
)

// casesFailed is returned when a policy does not decide its cases as
// expected; it exits 1 like any failure.
type casesFailed struct{ failed, total int }

func (e *casesFailed) Error() string {
	return fmt.Sprintf("policy test: %d of %d cases failed", e.failed, e.total)
}

func cmdPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, "usage: bastion policy test POLICY CASES.yaml\n\n"+
			"Judges each case (identity, groups, target, login, command) under the\n"+
			"policy's commands section and exits 1 if any decides other than expected.")
		if len(args) == 0 {
			return usagef("policy: missing subcommand")
		}
		return nil
	}
	if args[0] != "test" {
		return usagef("policy: unknown subcommand %q (want test)", args[0])
	}
	if len(args) != 3 {
		return usagef("policy test: want POLICY CASES.yaml")
	}
	p, err := policies.Load(args[1])
	if err != nil {
		return err
	}
	data, err := os.ReadFile(args[2])
	if err != nil {
		return fmt.Errorf("policy test: %w", err)
	}
	cases, err := cmdjudge.ParseCases(data)
	if err != nil {
		return fmt.Errorf("policy test: %s: %w", args[2], err)
	}
	failed := 0
	for _, r := range cmdjudge.RunCases(p, cases) {
		status := "ok  "
		if !r.OK {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s %-32s %s by %s", status, r.Name, r.Got.Action, r.Got.Rule)
		if !r.OK {
			want := string(r.Action)
			if r.Rule != "" {
				want += " by " + r.Rule
			}
			fmt.Fprintf(stdout, " (want %s; %s at %q)", want, r.Got.Reason, r.Got.Part)
		}
		fmt.Fprintln(stdout)
	}
	if failed > 0 {
		return &casesFailed{failed: failed, total: len(cases)}
	}
	fmt.Fprintf(stdout, "%d cases pass\n", len(cases))
	return nil
}
