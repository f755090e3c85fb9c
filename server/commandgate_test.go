package server

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

const gatePolicy = `commands:
  rules:
    - {name: no-deletes, programs: [rm], action: deny}
    - {name: touch-review, programs: [touch], action: review, reviewers: [security], timeout: 1h}
`

type gateRig struct {
	gate   *CommandGate
	broker *approvals.Broker
	st     *store.Store
	policy *policies.Policy
	mu     sync.Mutex
	lines  []string
}

func newGateRig(t *testing.T) *gateRig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := policies.Parse([]byte(gatePolicy))
	if err != nil {
		t.Fatal(err)
	}
	b := approvals.New(st, []byte("k"))
	b.PollInterval = 10 * time.Millisecond
	rg := &gateRig{broker: b, st: st, policy: p}
	rg.gate = &CommandGate{Broker: b, Store: st, Policy: func() *policies.Policy { return rg.current() }}
	return rg
}

func (rg *gateRig) current() *policies.Policy {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return rg.policy
}

func (rg *gateRig) request(cmd string, env map[string]string) CommandRequest {
	return CommandRequest{SessionID: "s1", Identity: "alice@x", Target: "db", Login: "root", Command: cmd, ShownCommand: cmd,
		Policy: rg.current(), Env: env, Mask: func(s string) string { return s },
		Notify: func(l string) { rg.mu.Lock(); rg.lines = append(rg.lines, l); rg.mu.Unlock() }}
}

func (rg *gateRig) heldID(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rg.mu.Lock()
		for _, l := range rg.lines {
			if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], "request=") {
				rg.mu.Unlock()
				return strings.TrimPrefix(f[1], "request=")
			}
		}
		rg.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no held line")
	return ""
}

var carolCLI = approvals.Reviewer{Identity: "carol@x", Groups: []string{"security"}, Channel: approvals.ChannelCLI}

func TestCommandGate(t *testing.T) {
	ctx := context.Background()
	t.Run("deny", func(t *testing.T) {
		rg := newGateRig(t)
		v, err := rg.gate.Judge(ctx, rg.request("ls; rm -f x", nil))
		if err != nil || v.Allowed || v.Code != ExitCommandDenied || v.Message != "denied: no-deletes: rm is not allowed (in: rm -f x)" {
			t.Errorf("verdict %+v %v", v, err)
		}
	})
	t.Run("allow-is-audited", func(t *testing.T) {
		rg := newGateRig(t)
		if v, err := rg.gate.Judge(ctx, rg.request("ls -la", nil)); err != nil || !v.Allowed {
			t.Fatalf("verdict %+v %v", v, err)
		}
		ev, _ := rg.st.Events(ctx, store.EventFilter{Type: "command"})
		if len(ev) != 1 || ev[0].Outcome != store.OutcomeAllowed || ev[0].Detail["command"] != "ls -la" {
			t.Errorf("events %+v", ev)
		}
	})
	t.Run("wait-zero", func(t *testing.T) {
		rg := newGateRig(t)
		v, err := rg.gate.Judge(ctx, rg.request("touch f", map[string]string{EnvWait: "0"}))
		if err != nil || v.Code != ExitCommandHeld || !strings.HasPrefix(v.Message, "held: request=req-") || !strings.HasSuffix(v.Message, "timeout=1h") {
			t.Errorf("verdict %+v %v", v, err)
		}
	})
	t.Run("approved-while-waiting", func(t *testing.T) {
		rg := newGateRig(t)
		done := make(chan CommandVerdict)
		go func() { v, _ := rg.gate.Judge(ctx, rg.request("touch f", nil)); done <- v }()
		id := rg.heldID(t)
		if _, err := rg.broker.Decide(ctx, id, carolCLI, true, "ok"); err != nil {
			t.Fatal(err)
		}
		v := <-done
		if !v.Allowed || len(v.Markers) != 2 || v.Notice != "approved: request="+id+" by carol@x (cli)" {
			t.Errorf("verdict %+v", v)
		}
		// The approval was spent by this run.
		if _, err := rg.broker.Use(ctx, id, approvals.Request{Requester: "alice@x", Target: "db", Login: "root", Exact: "touch f"}); err == nil {
			t.Error("approval usable again")
		}
	})
	t.Run("deny-rule-added-while-held", func(t *testing.T) {
		rg := newGateRig(t)
		done := make(chan CommandVerdict)
		go func() { v, _ := rg.gate.Judge(ctx, rg.request("touch f", nil)); done <- v }()
		id := rg.heldID(t)
		p, err := policies.Parse([]byte(gatePolicy + "    - {name: late, programs: [touch], action: deny}\n"))
		if err != nil {
			t.Fatal(err)
		}
		p.Commands.Rules = p.Commands.Rules[2:] // the new deny first
		rg.mu.Lock()
		rg.policy = p
		rg.mu.Unlock()
		if _, err := rg.broker.Decide(ctx, id, carolCLI, true, "ok"); err != nil {
			t.Fatal(err)
		}
		if v := <-done; v.Allowed || v.Code != ExitCommandDenied || v.Rule != "late" {
			t.Errorf("verdict %+v", v)
		}
	})
	t.Run("client-gone-withdraws", func(t *testing.T) {
		rg := newGateRig(t)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan CommandVerdict)
		go func() { v, _ := rg.gate.Judge(cctx, rg.request("touch f", nil)); done <- v }()
		id := rg.heldID(t)
		cancel()
		if v := <-done; v.Allowed || v.Event != "command.withdrawn" {
			t.Errorf("verdict %+v", v)
		}
		if a, _ := rg.broker.Get(ctx, id); a.State != approvals.StateWithdrawn {
			t.Errorf("state %s", a.State)
		}
	})
}
