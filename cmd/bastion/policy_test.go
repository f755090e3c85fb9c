package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplePolicyCases runs the shipped policy against its shipped case
// table, as an operator would: make test fails if they disagree.
func TestExamplePolicyCases(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"policy", "test", "../../policy.example.yaml", "../../policy.example.cases.yaml"}, &out, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "cases pass") {
		t.Errorf("output: %s", out.String())
	}
}

func TestPolicyTestReportsMismatch(t *testing.T) {
	dir := t.TempDir()
	cases := filepath.Join(dir, "cases.yaml")
	os.WriteFile(cases, []byte("cases:\n  - {name: wrong, identity: a@x, target: t, login: l, command: 'rm x', action: allow}\n"), 0o600)
	var out bytes.Buffer
	err := run(context.Background(), []string{"policy", "test", "../../policy.example.yaml", cases}, &out, &out)
	if err == nil || exitCodeOf(err) != exitError {
		t.Fatalf("err = %v, want a failure exiting %d", err, exitError)
	}
	if !strings.Contains(out.String(), "FAIL wrong") || !strings.Contains(out.String(), "deny by no-deletes") {
		t.Errorf("output does not name the mismatch: %s", out.String())
	}
	for _, bad := range []string{"cases: []\n", "cases:\n  - {identity: a, target: t, login: l, command: x, action: maybe}\n", "cases:\n  - {identity: a, command: x, action: allow}\n", "nope: 1\n"} {
		os.WriteFile(cases, []byte(bad), 0o600)
		if err := run(context.Background(), []string{"policy", "test", "../../policy.example.yaml", cases}, &out, &out); err == nil {
			t.Errorf("case table %q accepted", bad)
		}
	}
	if err := run(context.Background(), []string{"policy", "test", "../../policy.example.yaml"}, &out, &out); exitCodeOf(err) != exitUsage {
		t.Errorf("missing argument: %v", err)
	}
}

func exitCodeOf(err error) int {
	if e, ok := err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	if err != nil {
		return exitError
	}
	return 0
}
