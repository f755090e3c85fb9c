package server

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/store"
)

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"list --json", []string{"list", "--json"}},
		{"  approve   req-1  --reason 'a b'  ", []string{"approve", "req-1", "--reason", "a b"}},
		{`deny req-1 --reason "it's \"bad\""`, []string{"deny", "req-1", "--reason", `it's "bad"`}},
		{`'approve' 'req-1' '--reason' 'it'\''s ok'`, []string{"approve", "req-1", "--reason", "it's ok"}},
		{"show ''", []string{"show", ""}},
		{"", nil},
	}
	for _, c := range cases {
		if got := splitWords(c.in); !slices.Equal(got, c.want) {
			t.Errorf("splitWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzSplitWords: the desk's parser of what a client sends never panics,
// and single-quoting (what the CLI sends) round-trips any word.
func FuzzSplitWords(f *testing.F) {
	f.Add("approve req-1 --reason 'x'", "it's")
	f.Add(`"\`, `'`)
	f.Fuzz(func(t *testing.T, line, word string) {
		_ = splitWords(line)
		quoted := "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
		if got := splitWords("x " + quoted); len(got) != 2 || got[1] != word {
			t.Fatalf("%q round-trips as %q", word, got)
		}
	})
}

// fakeDesk serves one pending request by alice for group security.
type fakeDesk struct{ a store.Approval }

func (d *fakeDesk) Get(ctx context.Context, id string) (store.Approval, error) {
	if id != d.a.ID {
		return store.Approval{}, approvals.ErrNotFound
	}
	return d.a, nil
}

func (d *fakeDesk) List(ctx context.Context, f store.ApprovalFilter) ([]store.Approval, error) {
	return []store.Approval{d.a}, nil
}

func (d *fakeDesk) Decide(ctx context.Context, id string, who approvals.Reviewer, approve bool, reason string) (store.Approval, error) {
	if who.Identity == d.a.Requester {
		return d.a, approvals.ErrSelfDecision
	}
	d.a.State = approvals.StateApproved
	d.a.Decisions = append(d.a.Decisions, store.ApprovalDecision{Reviewer: who.Identity, Channel: who.Channel, Approve: approve, Reason: reason})
	return d.a, nil
}

func TestRunDesk(t *testing.T) {
	newDesk := func() *fakeDesk {
		return &fakeDesk{a: store.Approval{ID: "req-abc", Requester: "alice@x", Reviewers: []string{"security"}, State: "pending",
			Command: "touch f", Target: "db", Login: "root", Rule: "r", Needed: 1, Deadline: time.Now().Add(time.Hour)}}
	}
	carol := approvals.Reviewer{Identity: "carol@x", Groups: []string{"security"}, Channel: "cli"}
	alice := approvals.Reviewer{Identity: "alice@x", Channel: "cli"}
	eve := approvals.Reviewer{Identity: "eve@x", Groups: []string{"dev"}, Channel: "cli"}
	cases := []struct {
		name string
		who  approvals.Reviewer
		args string
		code int
		out  string
	}{
		{"list-as-reviewer", carol, "list", deskOK, "req-abc"},
		{"list-as-requester", alice, "list --json", deskOK, `"id": "req-abc"`},
		{"list-as-stranger", eve, "list", deskOK, "no requests"},
		{"show", carol, "show req-abc", deskOK, "command:       touch f"},
		{"show-as-stranger", eve, "show req-abc", deskRefused, "no such request visible to you"},
		{"show-unknown", carol, "show req-zzz", deskRefused, "no such request visible to you"},
		{"approve", carol, "approve req-abc --reason 'looks fine'", deskOK, "approved by carol@x via cli"},
		{"approve-needs-reason", carol, "approve req-abc", deskUsage, "needs --reason"},
		{"self", alice, "approve req-abc --reason x", deskRefused, "own request"},
		{"unknown-flag", carol, "list --format=yaml", deskUsage, "unknown flag"},
		{"unknown-command", carol, "delete req-abc", deskUsage, "usage"},
		{"empty", carol, "", deskUsage, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, msg := runDesk(context.Background(), newDesk(), c.who, splitWords(c.args))
			if code != c.code || !strings.Contains(out+msg, c.out) {
				t.Errorf("code %d out %q msg %q; want %d and %q", code, out, msg, c.code, c.out)
			}
		})
	}
}
