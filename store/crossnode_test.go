package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two stores on one database stand for two bastion nodes (or a node and
// the CLI). What one process's mutex used to guarantee must hold between
// them.

var errDecided = errors.New("decided already")

// Reviewers racing on two nodes for the one approval a request needs:
// exactly one decision is taken, the others see it and are refused.
func TestApprovalDecisionAcrossNodes(t *testing.T) {
	forEachBackend(t, testApprovalDecisionAcrossNodes)
}

func testApprovalDecisionAcrossNodes(t *testing.T, be backend) {
	c := be.fresh(t)
	a, b := be.open(t, c), be.open(t, c)
	now := time.Now().UTC()
	if err := a.CreateApproval(t.Context(), Approval{ID: "req-1", Requester: "alice@example.com", Target: "db", Login: "root",
		Command: "rm -rf /srv", CommandKey: "k", Rule: "destructive", Reviewers: []string{"group:sre"}, Needed: 1,
		CreatedAt: now, Deadline: now.Add(time.Hour), State: "pending"}); err != nil {
		t.Fatal(err)
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		st := []*Store{a, b}[i%2]
		wg.Go(func() {
			_, err := st.UpdateApproval(t.Context(), "req-1", func(x *Approval) (*ApprovalDecision, error) {
				if x.State != "pending" || len(x.Decisions) > 0 {
					return nil, errDecided
				}
				x.State, x.ClosedAt = "approved", &now
				return &ApprovalDecision{Reviewer: fmt.Sprintf("rev-%d@example.com", i), Channel: "cli", Approve: true,
					Reason: "ok", At: now}, nil
			})
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, errDecided):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if won.Load() != 1 {
		t.Fatalf("%d deciders won; want exactly 1", won.Load())
	}
	got, err := b.Approval(t.Context(), "req-1")
	if err != nil || got.State != "approved" || len(got.Decisions) != 1 || !got.Decisions[0].Approve {
		t.Errorf("approval = %+v, %v", got, err)
	}
}

// A login token replayed on another node at the same moment buys nothing:
// exactly one node records it as first use.
func TestTokenReplayAcrossNodes(t *testing.T) { forEachBackend(t, testTokenReplayAcrossNodes) }

func testTokenReplayAcrossNodes(t *testing.T, be backend) {
	c := be.fresh(t)
	a, b := be.open(t, c), be.open(t, c)
	exp := time.Now().Add(10 * time.Minute)
	var first atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		st := []*Store{a, b}[i%2]
		wg.Go(func() {
			ok, err := st.MarkTokenUsed(t.Context(), "https://idp.example.com", "jti-shared", exp)
			if err != nil {
				errs <- err
			}
			if ok {
				first.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if first.Load() != 1 {
		t.Errorf("the token was first used %d times; want 1", first.Load())
	}
}
