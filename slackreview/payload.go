package slackreview

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"
)

// Action ids of the two buttons; the button's value is the request id.
const (
	ActionApprove = "bastion_approve"
	ActionDeny    = "bastion_deny"
)

// ErrMalformed: the payload is not a block_actions press of one of our
// buttons.
var ErrMalformed = errors.New("slackreview: malformed payload")

// press is what a button press asks for.
type press struct {
	RequestID   string
	Approve     bool
	UserID      string
	TeamID      string
	ResponseURL string
}

// parsePress reads an interactivity request body: a form with one field,
// payload, holding the JSON (slack.InteractionCallback).
func parsePress(body []byte) (press, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return press{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	raw := form.Get("payload")
	if raw == "" {
		return press{}, fmt.Errorf("%w: no payload field", ErrMalformed)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &cb); err != nil {
		return press{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		return press{}, fmt.Errorf("%w: type %q", ErrMalformed, cb.Type)
	}
	acts := cb.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0] == nil {
		return press{}, fmt.Errorf("%w: want exactly one action", ErrMalformed)
	}
	a := acts[0]
	p := press{RequestID: a.Value, UserID: cb.User.ID, TeamID: cb.User.TeamID, ResponseURL: cb.ResponseURL}
	switch a.ActionID {
	case ActionApprove:
		p.Approve = true
	case ActionDeny:
	default:
		return press{}, fmt.Errorf("%w: unknown action %q", ErrMalformed, a.ActionID)
	}
	if p.UserID == "" || !validRequestID(p.RequestID) {
		return press{}, fmt.Errorf("%w: missing user or request", ErrMalformed)
	}
	return p, nil
}

// validRequestID accepts the shape approvals.newID makes, so that nothing
// else reaches the store or the audit log.
func validRequestID(id string) bool {
	if !strings.HasPrefix(id, "req-") || len(id) > 40 || len(id) < 5 {
		return false
	}
	for _, r := range id[4:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
