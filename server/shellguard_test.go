package server

import (
	"bytes"
	"testing"
)

// Keystrokes pass at once unless a verdict is out: then they wait (in
// order), and while a command is held for review only Ctrl-C counts, and
// it withdraws the request.
func TestShellGuardAdmitInput(t *testing.T) {
	ss := &session{}
	ss.sguard = &shellGuard{ss: ss}
	g := ss.sguard
	if got := ss.admitInput([]byte("ls")); string(got) != "ls" {
		t.Fatalf("not held: %q", got)
	}
	g.held = true
	if got := ss.admitInput([]byte("ab")); got != nil {
		t.Fatalf("held: %q passed", got)
	}
	ss.admitInput([]byte("c"))
	if !bytes.Equal(g.typed, []byte("abc")) {
		t.Fatalf("kept %q", g.typed)
	}
	withdrawn := 0
	g.review, g.typed, g.withdraw = true, nil, func() { withdrawn++ }
	if got := ss.admitInput([]byte("#123:1\n")); got != nil || len(g.typed) != 0 {
		t.Fatalf("under review: %q passed, %q kept", got, g.typed)
	}
	if withdrawn != 0 {
		t.Fatal("withdrawn without Ctrl-C")
	}
	ss.admitInput([]byte("x\x03"))
	ss.admitInput([]byte("\x03"))
	if withdrawn != 1 {
		t.Fatalf("withdrawn %d times", withdrawn)
	}
}

// A "typed" report with no verdict out (forged by output that knows the
// nonce) releases nothing.
func TestShellGuardReleaseNeedsVerdict(t *testing.T) {
	ss := &session{}
	ss.sguard = &shellGuard{ss: ss, held: true, typed: []byte("kept")}
	ss.sguard.release("rm x\n")
	if !ss.sguard.held || string(ss.sguard.typed) != "kept" {
		t.Fatal("a report with no verdict out released the keystrokes")
	}
}
