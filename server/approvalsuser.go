package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/store"
)

// ApprovalsUser is the reserved SSH user name under which reviewers and
// requesters reach the approval desk with their own certificate:
//
//	ssh -p PORT bastion-approvals@BASTION list --json
//	ssh -p PORT bastion-approvals@BASTION approve req-abc --reason "checked"
//
// No target has this name; the bastion answers the command itself.
const ApprovalsUser = "bastion-approvals"

// Exit statuses of the approval desk's commands.
const (
	deskOK      = 0
	deskRefused = 1 // not allowed, unknown request, closed request
	deskUsage   = 2
)

// ApprovalDesk is what the reserved user's commands need (approvals.Broker).
type ApprovalDesk interface {
	Get(ctx context.Context, id string) (store.Approval, error)
	List(ctx context.Context, f store.ApprovalFilter) ([]store.Approval, error)
	Decide(ctx context.Context, id string, who approvals.Reviewer, approve bool, reason string) (store.Approval, error)
}

var _ ApprovalDesk = (*approvals.Broker)(nil)

// deskTimeout bounds one desk command.
const deskTimeout = 10 * time.Second

// serveDesk answers one exec on the reserved user: nothing is recorded as
// a session or reaches a target; decisions and refusals are audited by
// the broker, views here.
func (ss *session) serveDesk(req *ssh.Request) {
	desk := ss.s.cfg.Approvals
	if req.Type != "exec" || desk == nil {
		reply(req, false)
		ss.deskExit(deskUsage, "", "bastion: the approval desk takes commands: list, show ID, approve ID --reason TEXT, deny ID --reason TEXT\n")
		return
	}
	e, err := parsePayload[execRequest](req.Payload)
	if err != nil {
		reply(req, false)
		ss.deskExit(deskUsage, "", "bastion: malformed exec request\n")
		return
	}
	reply(req, true)
	ctx, cancel := context.WithTimeout(ss.ctx, deskTimeout)
	defer cancel()
	who := approvals.Reviewer{Identity: ss.cs.identity, Groups: ss.cs.groups, Channel: approvals.ChannelCLI}
	code, out, msg := runDesk(ctx, desk, who, splitWords(e.Command))
	if code == deskRefused {
		ev := store.Event{Type: "approvals.desk", Outcome: store.OutcomeDenied, ConnID: ss.cs.id, SessionID: ss.id,
			Identity: who.Identity, SourceAddr: ss.cs.source, Reason: oneLine(msg)}
		if err := ss.s.audit(ctx, ev); err != nil {
			ss.log.Error("desk refusal not audited", "err", err)
		}
	}
	ss.deskExit(code, out, msg)
}

func (ss *session) deskExit(code int, out, msg string) {
	if out != "" {
		_, _ = io.WriteString(ss.ch, out)
	}
	if msg != "" {
		_, _ = io.WriteString(ss.ch.Stderr(), msg)
	}
	_, _ = ss.ch.SendRequest("exit-status", false, exitStatusPayload(code))
	_ = ss.ch.CloseWrite()
	_ = ss.ch.Close()
}

// runDesk runs one desk command; it returns the exit status, stdout and
// a message for stderr.
func runDesk(ctx context.Context, desk ApprovalDesk, who approvals.Reviewer, args []string) (int, string, string) {
	usage := "usage: list [--json] [--all] | show ID [--json] | approve ID --reason TEXT | deny ID --reason TEXT\n"
	if len(args) == 0 {
		return deskUsage, "", usage
	}
	jsonOut, all, reason, pos := false, false, "", []string{}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--json":
			jsonOut = true
		case a == "--all":
			all = true
		case a == "--reason" && i+1 < len(args):
			reason = args[i+1]
			i++
		case strings.HasPrefix(a, "--reason="):
			reason = strings.TrimPrefix(a, "--reason=")
		case strings.HasPrefix(a, "-"):
			return deskUsage, "", fmt.Sprintf("bastion: unknown flag %q\n%s", oneLine(a), usage)
		default:
			pos = append(pos, a)
		}
	}
	switch cmd := args[0]; cmd {
	case "list":
		list, err := desk.List(ctx, store.ApprovalFilter{})
		if err != nil {
			return deskRefused, "", "bastion: approvals unavailable\n"
		}
		var mine []store.Approval
		for _, a := range list {
			if !approvals.MayView(a, who) || (!all && a.State != approvals.StatePending && a.Requester != who.Identity) {
				continue
			}
			mine = append(mine, a)
		}
		return deskOK, render(mine, jsonOut, true), ""
	case "show", "approve", "deny":
		if len(pos) != 1 {
			return deskUsage, "", usage
		}
		id := pos[0]
		if cmd == "show" {
			a, err := desk.Get(ctx, id)
			if err != nil || !approvals.MayView(a, who) {
				// Unknown and not yours look the same: ids are not an oracle.
				return deskRefused, "", "bastion: refused: request=" + oneLine(id) + ": no such request visible to you\n"
			}
			return deskOK, render([]store.Approval{a}, jsonOut, false), ""
		}
		if strings.TrimSpace(reason) == "" {
			return deskUsage, "", "bastion: " + cmd + " needs --reason TEXT\n"
		}
		a, err := desk.Decide(ctx, id, who, cmd == "approve", reason)
		if err != nil {
			why := "the decision could not be recorded"
			if errors.Is(err, approvals.ErrNotFound) || errors.Is(err, approvals.ErrSelfDecision) || errors.Is(err, approvals.ErrNotReviewer) ||
				errors.Is(err, approvals.ErrClosed) || errors.Is(err, approvals.ErrExpired) || errors.Is(err, approvals.ErrAlreadyDecided) {
				why = strings.TrimPrefix(err.Error(), "approvals: ")
			}
			return deskRefused, "", fmt.Sprintf("bastion: refused: request=%s: %s\n", oneLine(id), why)
		}
		return deskOK, render([]store.Approval{a}, jsonOut, false), ""
	}
	return deskUsage, "", usage
}

// render prints requests for people (one line each, or the full record)
// or as JSON for programs.
func render(list []store.Approval, jsonOut, short bool) string {
	if jsonOut {
		if list == nil {
			list = []store.Approval{}
		}
		var out any = list
		if !short && len(list) == 1 {
			out = list[0]
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		return string(b) + "\n"
	}
	var b strings.Builder
	for _, a := range list {
		if short {
			fmt.Fprintf(&b, "%s  %-9s %s@%s  %s  by %s  (rule %s, %d/%d, until %s)\n", a.ID, a.State, a.Login, a.Target,
				oneLine(a.Command), a.Requester, a.Rule, countApprovals(a), a.Needed, a.Deadline.UTC().Format(time.RFC3339))
			continue
		}
		fmt.Fprintf(&b, "request:       %s\nstate:         %s\ncommand:       %s\nrequester:     %s\ntarget:        %s@%s\n",
			a.ID, a.State, oneLine(a.Command), a.Requester, a.Login, a.Target)
		fmt.Fprintf(&b, "rule:          %s\nreviewers:     %s (%d needed)\njustification: %s\ncreated:       %s\ndeadline:      %s\n",
			a.Rule, strings.Join(a.Reviewers, ", "), a.Needed, oneLine(a.Justification),
			a.CreatedAt.UTC().Format(time.RFC3339), a.Deadline.UTC().Format(time.RFC3339))
		for _, d := range a.Decisions {
			verb := "denied"
			if d.Approve {
				verb = "approved"
			}
			fmt.Fprintf(&b, "decision:      %s by %s via %s at %s: %s\n", verb, d.Reviewer, d.Channel, d.At.UTC().Format(time.RFC3339), oneLine(d.Reason))
		}
	}
	if b.Len() == 0 {
		return "no requests\n"
	}
	return b.String()
}

func countApprovals(a store.Approval) int {
	n := 0
	for _, d := range a.Decisions {
		if d.Approve {
			n++
		}
	}
	return n
}

// splitWords splits a desk command line into words: blanks separate,
// single and double quotes group, a backslash escapes the next character.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote, inWord = c, true
		case c == '\\' && quote != '\'' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(s[i])
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
