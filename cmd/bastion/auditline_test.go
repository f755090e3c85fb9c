package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// The text view carries what --json has (target, paths, exit status,
// viewer, command, rule), escaped like the rest of the CLI's output, with
// the time's zone.
func TestAuditTextShowsDetail(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 2*3600))
	events := []store.Event{
		{Seq: 7, At: at, Type: "sftp.open", Outcome: "allowed", Identity: "alice@example.com", SessionID: "s-1",
			Target: "db", Login: "root", Reason: "sftp open",
			Detail: map[string]any{"path": "/data/\x1b[2Jevil name.csv", "mode": "read"}},
		{Seq: 8, At: at, Type: "session.end", Outcome: "info", SessionID: "s-1",
			Detail: map[string]any{"exit_status": 3, "command": "rm -rf /tmp/x", "rule": "no-deletes"}},
		{Seq: 9, At: at, Type: "replay.view", Outcome: "info", Detail: map[string]any{"viewer": "bob\u202e"}},
	}
	var out bytes.Buffer
	if err := (auditPrinter{w: &out}).all(events); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	zone := at.Local().Format("-07:00")
	for _, want := range []string{
		"target=root@db", `path="/data/\x1b[2Jevil name.csv"`, "mode=read",
		"exit_status=3", `command="rm -rf /tmp/x"`, "rule=no-deletes", `viewer=bob\u202e`, " " + zone + " ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "\x1b\u202e") {
		t.Errorf("control characters printed as is:\n%q", got)
	}
}
