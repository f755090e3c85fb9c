// Package approvals holds commands for review and decides them: the state
// machine of a request (pending, then approved, denied, expired or
// withdrawn), who may decide it, and waiting for the outcome.
//
// The rules: a requester never decides their own request; a request needs
// N distinct approving reviewers (N of M); the first deny ends it; no
// decision by the deadline is a deny (expired); a closed request cannot be
// decided again; an approved request runs once. Every decision and every
// refusal is an audit event, written before the change is reported: what
// cannot be recorded does not happen.
package approvals
