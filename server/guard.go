package server

import (
	"context"

	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
)

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
	// ShownCommand is Command masked: what audit records and reviewers see.
	ShownCommand string
	SourceAddr   string
	// Policy is the session's policy snapshot: the judge decides by it.
	Policy *policies.Policy
	// Env holds the BASTION_* variables the client set (see commandenv.go).
	Env map[string]string
	// Mask masks PHI in text drawn from the command (the part that
	// decided) before it is shown or recorded.
	Mask func(string) string
	// Position, for a command typed at a guarded shell, is where in the
	// session's recording it was judged (exec commands run before the
	// recording starts).
	Position *recorder.Position
	// Notify writes one line to the client's stderr at once, prefixed
	// "bastion: " (the held line an agent parses while it waits).
	Notify func(line string)
}

// CommandVerdict is a judge's decision. Reason is shown to the client and
// recorded, so it must hold no raw command text.
type CommandVerdict struct {
	Allowed bool
	Reason  string
	// Rule names the rule that decided, for the audit record.
	Rule string
	// For a command that does not run: Message is the line the client
	// reads after "bastion: " (default "command denied: REASON"), Code its
	// exit status (default ExitCommandDenied), Event the audit event type
	// (default command.denied).
	Message string
	Code    int
	Event   string
	// Markers label the decisions taken (held, approved by whom); each is
	// written to the recording before the command's output, as a marker
	// and as a "bastion: LABEL" output line that any player shows.
	Markers []string
	// Notice, if set, is shown to the client (after "bastion: ") once it
	// is recorded: e.g. who approved a held command.
	Notice string
}
