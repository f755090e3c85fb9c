package main

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/store"
)

// `bastion nodes` lists each node's heartbeat with its state, judged on
// the database's clock as the sweep judges it.
func TestNodesCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := liveness.Claim(t.Context(), liveness.Config{Node: "node-a", Store: st}); err != nil {
		t.Fatal(err)
	}
	b, err := liveness.Claim(t.Context(), liveness.Config{Node: "node-b", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, "nodes", "--data", dir)
	if !regexp.MustCompile(`(?m)^node-a +live .* ago\)$`).MatchString(out) || !regexp.MustCompile(`(?m)^node-b +stopped .* -$`).MatchString(out) {
		t.Errorf("bastion nodes:\n%s", out)
	}
	var views []nodeView
	if err := json.Unmarshal([]byte(runOK(t, "nodes", "--json", "--data", dir)), &views); err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].State != nodeLive || views[0].LastHeartbeat.IsZero() || views[1].State != nodeStopped {
		t.Errorf("bastion nodes --json: %+v", views)
	}
}
