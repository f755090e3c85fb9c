package certauth

import (
	"fmt"
	"net/http"
	"strings"
)

// PathTargets lists the targets the caller may reach.
const PathTargets = "/v1/targets"

// Target is one target an identity may reach, as GET /v1/targets reports
// it: the login patterns the policy allows there, and the target's
// default login.
type Target struct {
	Name         string   `json:"name"`
	Logins       []string `json:"logins"`
	DefaultLogin string   `json:"default_login,omitempty"`
}

// TargetsResponse is the answer of GET /v1/targets.
type TargetsResponse struct {
	Identity string   `json:"identity"`
	Groups   []string `json:"groups"`
	Targets  []Target `json:"targets"`
}

// TargetLister returns the targets identity (with groups) may reach under
// the current policy.
type TargetLister func(identity string, groups []string) []Target

// targets answers GET /v1/targets for the bearer token's holder: it
// verifies the token as a certificate request does (same issuers, same
// claim rules) but mints nothing, so it does not use the token up. A
// refused token is audited like a refused certificate request.
func (a *API) targets(w http.ResponseWriter, r *http.Request) {
	if a.Targets == nil {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "no target listing on this bastion", Reason: "not_found"})
		return
	}
	if a.rateLimited(w, r) {
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		err := fmt.Errorf("%w: missing Authorization: Bearer TOKEN", ErrMalformedRequest)
		a.Issuer.refuse(r.Context(), r.RemoteAddr, err)
		writeRefusal(w, err)
		return
	}
	claims, err := a.Issuer.Tokens.Verify(r.Context(), token)
	if err != nil {
		a.Issuer.refuse(r.Context(), r.RemoteAddr, err)
		writeRefusal(w, err)
		return
	}
	groups := claims.Groups
	if groups == nil {
		groups = []string{}
	}
	list := a.Targets(claims.Identity, groups)
	if list == nil {
		list = []Target{}
	}
	writeJSON(w, http.StatusOK, TargetsResponse{Identity: claims.Identity, Groups: groups, Targets: list})
}
