package server

import "context"

// CommandJudge decides whether an exec command may reach the target. It
// is the admission step where command rules apply: it may return at once
// (allow or deny) or block while the command is held for review, and
// return once a reviewer decided. ctx ends when the client goes away or
// the session is ended; a judge must then return (a deny). An error denies.
//
// The bastion calls it after the access rule allowed the session and
// before the recording is opened, with the command as the client sent it.
type CommandJudge func(ctx context.Context, r CommandRequest) (CommandVerdict, error)

// CommandRequest is one exec command to judge.
type CommandRequest struct {
	SessionID string
	Identity  string
	Groups    []string
	Target    string
	Login     string
	Command   string // exactly as it will reach the target's shell
}

// CommandVerdict is a judge's decision. Reason is shown to the client and
// recorded, so it must hold no raw command text.
type CommandVerdict struct {
	Allowed bool
	Reason  string
	// Rule names the rule that decided, for the audit record.
	Rule string
}
