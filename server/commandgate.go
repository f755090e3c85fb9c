package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/cmdjudge"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// CommandGate judges exec commands with the policy's commands section and
// holds those under review until approvals decides them. Its Judge is a
// CommandJudge for Config.Commands.
type CommandGate struct {
	// Broker holds and decides reviews; required.
	Broker *approvals.Broker
	// Store receives the "command" audit event of every exec; required.
	Store interface {
		Audit(ctx context.Context, e store.Event) error
	}
	// Policy, if set, returns the policy in force: a command approved
	// after a long wait is judged again by it, so a deny rule added
	// meanwhile still wins.
	Policy func() *policies.Policy
}

// Judge decides one command: a "command" audit event for each, then run
// (allow, or an approved BASTION_REQUEST), refuse (deny), or hold.
func (g *CommandGate) Judge(ctx context.Context, r CommandRequest) (CommandVerdict, error) {
	subj := policies.CommandSubject{Identity: r.Identity, Groups: r.Groups, Target: r.Target, Login: r.Login}
	var cmds *policies.Commands
	if r.Policy != nil {
		cmds = &r.Policy.Commands
	}
	d := cmdjudge.Judge(cmds, subj, r.Command)
	mask := r.Mask
	if mask == nil {
		mask = func(string) string { return "(hidden)" }
	}
	reason := d.Reason
	if d.Part != "" && d.Part != r.Command {
		reason += " (in: " + mask(d.Part) + ")"
	}
	audit := func(outcome, why string, detail map[string]any) error {
		ev := store.Event{Type: "command", Outcome: outcome, SessionID: r.SessionID, Identity: r.Identity,
			SourceAddr: r.SourceAddr, Target: r.Target, Login: r.Login, Reason: why,
			Detail: map[string]any{"command": r.ShownCommand, "action": string(d.Action), "rule": d.Rule, "why": reason}}
		for k, v := range detail {
			ev.Detail[k] = v
		}
		if r.Position != nil {
			recEvent, recTime := r.Position.Event, r.Position.Elapsed.Seconds()
			ev.RecEvent, ev.RecTime, ev.Detail["interactive"] = &recEvent, &recTime, true
		}
		return g.Store.Audit(ctx, ev)
	}

	if d.Action == policies.CommandDeny {
		if err := audit(store.OutcomeDenied, "rule "+d.Rule, nil); err != nil {
			return CommandVerdict{}, err
		}
		return CommandVerdict{Rule: d.Rule, Reason: reason, Message: fmt.Sprintf("denied: %s: %s", d.Rule, reason),
			Code: ExitCommandDenied, Event: "command.denied"}, nil
	}
	if id := r.Env[EnvRequest]; id != "" {
		return g.useApproved(ctx, r, id, d, audit)
	}
	if d.Action == policies.CommandAllow {
		if err := audit(store.OutcomeAllowed, "rule "+d.Rule, nil); err != nil {
			return CommandVerdict{}, err
		}
		return CommandVerdict{Allowed: true, Rule: d.Rule, Reason: reason}, nil
	}
	return g.hold(ctx, r, d, reason, audit)
}

// hold opens a review and, unless the client asked not to wait, waits for
// it. The client reads the held line at once.
func (g *CommandGate) hold(ctx context.Context, r CommandRequest, d cmdjudge.Decision, reason string,
	audit func(outcome, why string, detail map[string]any) error) (CommandVerdict, error) {
	a, err := g.Broker.Open(ctx, approvals.Request{
		Requester: r.Identity, SourceAddr: r.SourceAddr, Target: r.Target, Login: r.Login, SessionID: r.SessionID,
		Command: r.ShownCommand, Exact: r.Command, Justification: r.Env[EnvJustification], Rule: d.Rule, Review: d.Review,
	})
	if err != nil {
		return CommandVerdict{}, fmt.Errorf("open review: %w", err)
	}
	held := fmt.Sprintf("held: request=%s rule=%s reviewers=%s approvals=%d timeout=%s",
		a.ID, d.Rule, strings.Join(a.Reviewers, ","), a.Needed, shortDuration(a.Deadline.Sub(a.CreatedAt)))
	if err := audit(store.OutcomeInfo, "held", map[string]any{"request": a.ID}); err != nil {
		return CommandVerdict{}, err
	}
	if r.Env[EnvWait] == "0" {
		return CommandVerdict{Rule: d.Rule, Reason: reason, Message: held, Code: ExitCommandHeld, Event: "command.held"}, nil
	}
	if r.Notify != nil {
		r.Notify(held)
	}
	id := a.ID
	a, err = g.Broker.Wait(ctx, id)
	if err != nil {
		// The client went away (Ctrl-C, channel closed) or the session was
		// ended: the request is withdrawn, on the record.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, werr := g.Broker.Withdraw(wctx, id, r.Identity, "the client stopped waiting"); werr != nil && !errors.Is(werr, approvals.ErrClosed) {
			return CommandVerdict{}, errors.Join(err, werr)
		}
		return CommandVerdict{Rule: d.Rule, Reason: "withdrawn", Message: "withdrawn: request=" + id,
			Code: ExitReviewDenied, Event: "command.withdrawn"}, nil
	}
	return g.closed(ctx, r, a, d, audit)
}

// closed turns a closed review into the verdict.
func (g *CommandGate) closed(ctx context.Context, r CommandRequest, a store.Approval, d cmdjudge.Decision,
	audit func(outcome, why string, detail map[string]any) error) (CommandVerdict, error) {
	detail := map[string]any{"request": a.ID, "state": a.State}
	switch a.State {
	case approvals.StateApproved:
		if v, denied, err := g.denyNow(ctx, r, audit); denied || err != nil {
			return v, err
		}
		// Spent here, so the approval cannot run the command a second time.
		if _, err := g.Broker.Use(ctx, a.ID, approvals.Request{Requester: r.Identity, Target: r.Target, Login: r.Login,
			SessionID: r.SessionID, Exact: r.Command}); err != nil {
			return CommandVerdict{}, err
		}
		if err := audit(store.OutcomeAllowed, "approved", detail); err != nil {
			return CommandVerdict{}, err
		}
		return CommandVerdict{Allowed: true, Rule: d.Rule, Reason: "approved",
			Markers: []string{heldMarker(a), approvedMarker(a)}, Notice: approvedMarker(a)}, nil
	case approvals.StateDenied:
		if err := audit(store.OutcomeDenied, "denied by reviewer", detail); err != nil {
			return CommandVerdict{}, err
		}
		last := store.ApprovalDecision{Reviewer: "a reviewer", Reason: "no reason recorded"}
		if n := len(a.Decisions); n > 0 {
			last = a.Decisions[n-1]
		}
		return CommandVerdict{Rule: d.Rule, Reason: "denied by " + last.Reviewer,
			Message: fmt.Sprintf("denied: request=%s by %s: %s", a.ID, last.Reviewer, last.Reason),
			Code:    ExitReviewDenied, Event: "command.denied"}, nil
	case approvals.StateExpired:
		if err := audit(store.OutcomeDenied, "expired", detail); err != nil {
			return CommandVerdict{}, err
		}
		return CommandVerdict{Rule: d.Rule, Reason: "no decision in time",
			Message: fmt.Sprintf("expired: request=%s: no decision by %s", a.ID, a.Deadline.UTC().Format(time.RFC3339)),
			Code:    ExitReviewExpired, Event: "command.expired"}, nil
	}
	return CommandVerdict{Rule: d.Rule, Reason: a.State, Message: fmt.Sprintf("%s: request=%s", a.State, a.ID),
		Code: ExitReviewDenied, Event: "command.denied"}, nil
}

// useApproved runs a command approved earlier (BASTION_REQUEST=ID), once.
func (g *CommandGate) useApproved(ctx context.Context, r CommandRequest, id string, d cmdjudge.Decision,
	audit func(outcome, why string, detail map[string]any) error) (CommandVerdict, error) {
	a, err := g.Broker.Use(ctx, id, approvals.Request{Requester: r.Identity, Target: r.Target, Login: r.Login,
		SessionID: r.SessionID, Exact: r.Command})
	if err != nil {
		if !isApprovalRefusal(err) {
			return CommandVerdict{}, err
		}
		if aerr := audit(store.OutcomeDenied, "request refused", map[string]any{"request": oneLine(id), "refusal": err.Error()}); aerr != nil {
			return CommandVerdict{}, aerr
		}
		why := strings.TrimPrefix(err.Error(), "approvals: ")
		if errors.Is(err, approvals.ErrNotApproved) && a.State == approvals.StatePending {
			why = "still pending"
		}
		return CommandVerdict{Rule: d.Rule, Reason: why, Message: fmt.Sprintf("refused: request=%s: %s", oneLine(id), why),
			Code: ExitRequestRefused, Event: "command.denied"}, nil
	}
	if err := audit(store.OutcomeAllowed, "approved request", map[string]any{"request": a.ID}); err != nil {
		return CommandVerdict{}, err
	}
	return CommandVerdict{Allowed: true, Rule: d.Rule, Reason: "approved",
		Markers: []string{heldMarker(a), approvedMarker(a)}, Notice: approvedMarker(a)}, nil
}

// denyNow judges r again under the policy in force, after a wait.
func (g *CommandGate) denyNow(ctx context.Context, r CommandRequest, audit func(outcome, why string, detail map[string]any) error) (CommandVerdict, bool, error) {
	if g.Policy == nil || g.Policy() == nil {
		return CommandVerdict{}, false, nil
	}
	subj := policies.CommandSubject{Identity: r.Identity, Groups: r.Groups, Target: r.Target, Login: r.Login}
	d := cmdjudge.Judge(&g.Policy().Commands, subj, r.Command)
	if d.Action != policies.CommandDeny {
		return CommandVerdict{}, false, nil
	}
	if err := audit(store.OutcomeDenied, "rule "+d.Rule+" (policy changed while held)", nil); err != nil {
		return CommandVerdict{}, true, err
	}
	return CommandVerdict{Rule: d.Rule, Reason: d.Reason, Message: fmt.Sprintf("denied: %s: %s", d.Rule, d.Reason),
		Code: ExitCommandDenied, Event: "command.denied"}, true, nil
}

func heldMarker(a store.Approval) string {
	return fmt.Sprintf("held: request=%s rule=%s reviewers=%s", a.ID, a.Rule, strings.Join(a.Reviewers, ","))
}

func approvedMarker(a store.Approval) string {
	var by []string
	for _, d := range a.Decisions {
		if d.Approve {
			by = append(by, d.Reviewer+" ("+d.Channel+")")
		}
	}
	return fmt.Sprintf("approved: request=%s by %s", a.ID, strings.Join(by, ", "))
}

// shortDuration prints 15m rather than 15m0s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func isApprovalRefusal(err error) bool {
	for _, e := range []error{approvals.ErrNotFound, approvals.ErrNotApproved, approvals.ErrUsed, approvals.ErrMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
