package approvals

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newBroker(t *testing.T) (*Broker, *store.Store, *clock) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b := New(st, []byte("0123456789abcdef0123456789abcdef"))
	b.Now = c.Now
	b.PollInterval = 10 * time.Millisecond
	return b, st, c
}

var (
	carol = Reviewer{Identity: "carol@example.com", Groups: []string{"security"}, Channel: ChannelCLI}
	dave  = Reviewer{Identity: "dave@example.com", Groups: []string{"security"}, Channel: ChannelSlack}
	erin  = Reviewer{Identity: "erin@example.com", Groups: []string{"dev"}, Channel: ChannelCLI}
	named = Reviewer{Identity: "frank@example.com", Channel: ChannelCLI}
)

func request(needed int) Request {
	return Request{
		Requester: "alice@example.com", SourceAddr: "10.0.0.1:5000", Target: "db-1", Login: "postgres",
		SessionID: "s1", Command: "systemctl restart postgresql", Exact: "systemctl restart postgresql",
		Rule: "restarts", Review: policies.Review{Reviewers: []string{"security", "frank@example.com"}, Approvals: needed, Timeout: 15 * time.Minute},
	}
}

func open(t *testing.T, b *Broker, needed int) store.Approval {
	t.Helper()
	a, err := b.Open(context.Background(), request(needed))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func events(t *testing.T, st *store.Store, typ string) []store.Event {
	t.Helper()
	ev, err := st.Events(context.Background(), store.EventFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDecideRules(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		needed  int
		steps   []Reviewer
		approve []bool
		errs    []error
		state   string
	}{
		{"one-approval", 1, []Reviewer{carol}, []bool{true}, []error{nil}, StateApproved},
		{"named-identity", 1, []Reviewer{named}, []bool{true}, []error{nil}, StateApproved},
		{"two-of-n", 2, []Reviewer{carol, dave}, []bool{true, true}, []error{nil, nil}, StateApproved},
		{"two-of-n-same-reviewer-twice", 2, []Reviewer{carol, carol}, []bool{true, true}, []error{nil, ErrAlreadyDecided}, StatePending},
		{"first-deny-ends", 2, []Reviewer{carol, dave}, []bool{false, true}, []error{nil, ErrClosed}, StateDenied},
		{"deny-after-one-approval", 2, []Reviewer{carol, dave}, []bool{true, false}, []error{nil, nil}, StateDenied},
		{"self-decision", 1, []Reviewer{{Identity: "alice@example.com", Groups: []string{"security"}, Channel: ChannelCLI}}, []bool{true}, []error{ErrSelfDecision}, StatePending},
		{"not-a-reviewer", 1, []Reviewer{erin}, []bool{true}, []error{ErrNotReviewer}, StatePending},
		{"decided-cannot-be-decided-again", 1, []Reviewer{carol, dave}, []bool{true, false}, []error{nil, ErrClosed}, StateApproved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, st, _ := newBroker(t)
			a := open(t, b, c.needed)
			for i, who := range c.steps {
				_, err := b.Decide(ctx, a.ID, who, c.approve[i], "looked at it")
				if !errors.Is(err, c.errs[i]) {
					t.Fatalf("step %d: err = %v, want %v", i, err, c.errs[i])
				}
			}
			got, err := b.Get(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != c.state {
				t.Errorf("state %s, want %s", got.State, c.state)
			}
			refusals := 0
			for _, e := range c.errs {
				if e != nil {
					refusals++
				}
			}
			if n := len(events(t, st, "approval.refuse")); n != refusals {
				t.Errorf("%d refusal events, want %d", n, refusals)
			}
		})
	}
}

func TestRefusalChangesNothing(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newBroker(t)
	a := open(t, b, 2)
	if _, err := b.Decide(ctx, a.ID, carol, true, "ok"); err != nil {
		t.Fatal(err)
	}
	before, _ := b.Get(ctx, a.ID)
	for _, try := range []func() error{
		func() error { _, err := b.Decide(ctx, a.ID, erin, true, "x"); return err },
		func() error { _, err := b.Decide(ctx, a.ID, carol, false, "changed my mind"); return err },
		func() error { _, err := b.Decide(ctx, a.ID, dave, true, "  "); return err },
		func() error { _, err := b.Decide(ctx, "req-nope", dave, true, "x"); return err },
	} {
		if err := try(); err == nil {
			t.Fatal("refusal expected")
		}
	}
	after, _ := b.Get(ctx, a.ID)
	if after.State != before.State || len(after.Decisions) != len(before.Decisions) {
		t.Errorf("refusals changed the request: %+v -> %+v", before, after)
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	b, st, clk := newBroker(t)
	a := open(t, b, 1)
	clk.Add(15 * time.Minute)
	if _, err := b.Decide(ctx, a.ID, carol, true, "late"); !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	got, _ := b.Get(ctx, a.ID)
	if got.State != StateExpired {
		t.Errorf("state %s", got.State)
	}
	if _, err := b.Decide(ctx, a.ID, carol, true, "later"); !errors.Is(err, ErrClosed) {
		t.Errorf("expired request decided again: %v", err)
	}
	if len(events(t, st, "approval.close")) != 1 {
		t.Error("no close event for the expiry")
	}
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	t.Run("approved", func(t *testing.T) {
		b, _, _ := newBroker(t)
		a := open(t, b, 1)
		done := make(chan store.Approval)
		go func() {
			got, _ := b.Wait(ctx, a.ID)
			done <- got
		}()
		if _, err := b.Decide(ctx, a.ID, carol, true, "fine"); err != nil {
			t.Fatal(err)
		}
		if got := <-done; got.State != StateApproved {
			t.Errorf("state %s", got.State)
		}
	})
	t.Run("deadline-is-deny", func(t *testing.T) {
		b, _, clk := newBroker(t)
		a := open(t, b, 1)
		clk.Add(16 * time.Minute)
		got, err := b.Wait(ctx, a.ID)
		if err != nil || got.State != StateExpired {
			t.Errorf("Wait = %s, %v", got.State, err)
		}
	})
	t.Run("cancel-then-withdraw", func(t *testing.T) {
		b, st, _ := newBroker(t)
		a := open(t, b, 1)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.Wait(cctx, a.ID); err == nil {
			t.Fatal("Wait ignored its context")
		}
		if _, err := b.Withdraw(ctx, a.ID, a.Requester, "channel closed"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Decide(ctx, a.ID, carol, true, "too late"); !errors.Is(err, ErrClosed) {
			t.Errorf("withdrawn request decided: %v", err)
		}
		if len(events(t, st, "approval.withdraw")) != 1 {
			t.Error("withdrawal not audited")
		}
	})
}

func TestUseOnce(t *testing.T) {
	ctx := context.Background()
	b, st, _ := newBroker(t)
	a := open(t, b, 1)
	r := request(1)
	if _, err := b.Use(ctx, a.ID, r); !errors.Is(err, ErrNotApproved) {
		t.Fatalf("pending used: %v", err)
	}
	if _, err := b.Decide(ctx, a.ID, carol, true, "ok"); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(*Request){
		func(r *Request) { r.Exact += " && id" },
		func(r *Request) { r.Requester = "mallory@example.com" },
		func(r *Request) { r.Target = "db-2" },
		func(r *Request) { r.Login = "root" },
	} {
		other := request(1)
		change(&other)
		if _, err := b.Use(ctx, a.ID, other); !errors.Is(err, ErrMismatch) {
			t.Errorf("a different request used the approval: %v", err)
		}
	}
	if _, err := b.Use(ctx, a.ID, r); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := b.Use(ctx, a.ID, r); !errors.Is(err, ErrUsed) {
		t.Errorf("second use: %v", err)
	}
	ev := events(t, st, "approval.use")
	if len(ev) != 7 || ev[5].Outcome != store.OutcomeAllowed || ev[6].Outcome != store.OutcomeDenied || ev[6].Reason != "used" {
		t.Errorf("use events: %+v", ev)
	}
}

// Two reviewers answering at once cannot both take the last approval, and
// the loser is told the request is closed.
func TestConcurrentDecisions(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newBroker(t)
	a := open(t, b, 1)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, who := range []Reviewer{carol, dave} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.Decide(ctx, a.ID, who, i == 0, "race")
		}()
	}
	wg.Wait()
	got, _ := b.Get(ctx, a.ID)
	if len(got.Decisions) != 1 {
		t.Fatalf("%d decisions recorded", len(got.Decisions))
	}
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrClosed) {
		t.Errorf("errors %v", errs)
	}
}

func TestMayView(t *testing.T) {
	a := store.Approval{Requester: "alice@example.com", Reviewers: []string{"security"}}
	if !MayView(a, Reviewer{Identity: "alice@example.com"}) || !MayView(a, carol) || MayView(a, erin) {
		t.Error("MayView")
	}
}
