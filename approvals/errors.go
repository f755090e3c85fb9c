package approvals

import "errors"

// Refusal reasons, one per reason the audit log records.
var (
	// ErrNotFound: no request has this id.
	ErrNotFound = errors.New("approvals: no such request")
	// ErrSelfDecision: the requester tried to decide their own request.
	ErrSelfDecision = errors.New("approvals: a requester cannot decide their own request")
	// ErrNotReviewer: the identity is not among the request's reviewers.
	ErrNotReviewer = errors.New("approvals: not a reviewer of this request")
	// ErrClosed: the request was already approved, denied, expired or
	// withdrawn.
	ErrClosed = errors.New("approvals: request already closed")
	// ErrExpired: the deadline passed before the decision.
	ErrExpired = errors.New("approvals: request expired")
	// ErrAlreadyDecided: this reviewer already approved the request.
	ErrAlreadyDecided = errors.New("approvals: reviewer already decided this request")
	// ErrNotApproved: a re-run named a request that is not approved.
	ErrNotApproved = errors.New("approvals: request not approved")
	// ErrUsed: a re-run named a request whose one run is spent.
	ErrUsed = errors.New("approvals: approved request already used")
	// ErrMismatch: a re-run named a request for another command, identity,
	// target or login.
	ErrMismatch = errors.New("approvals: request is for another command")
	// ErrNoReason: a decision came without a reason.
	ErrNoReason = errors.New("approvals: a reason is required")
)

// code is the stable audit code of a refusal.
func code(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrNotFound, "not_found"}, {ErrSelfDecision, "self_decision"}, {ErrNotReviewer, "not_reviewer"},
		{ErrClosed, "closed"}, {ErrExpired, "expired"}, {ErrAlreadyDecided, "already_decided"},
		{ErrNotApproved, "not_approved"}, {ErrUsed, "used"}, {ErrMismatch, "mismatch"}, {ErrNoReason, "no_reason"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "error"
}
