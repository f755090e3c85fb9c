package server

import "strings"

// Variables a client sets (ssh -o SetEnv=NAME=VALUE) to talk to the
// bastion's command review. They are accepted whatever env_allow says,
// kept by the bastion, and never sent to the target.
const (
	// EnvWait: "0" returns a held command at once with its held line
	// and ExitCommandHeld, instead of waiting for the decision.
	EnvWait = "BASTION_WAIT"
	// EnvRequest names an approved request: the identical command, by the
	// same identity on the same target and login, runs once.
	EnvRequest = "BASTION_REQUEST"
	// EnvJustification is shown to reviewers (masked).
	EnvJustification = "BASTION_JUSTIFICATION"
)

// maxBastionEnv bounds a BASTION_* value: a justification is a sentence.
const maxBastionEnv = 1024

// keepBastionEnv keeps a BASTION_* variable from an env request and
// reports whether it was one. Other names go through env_allow.
func (ss *session) keepBastionEnv(e envRequest) bool {
	switch e.Name {
	case EnvWait, EnvRequest, EnvJustification:
	default:
		return false
	}
	if ss.bastionEnv == nil {
		ss.bastionEnv = map[string]string{}
	}
	v := e.Value
	if len(v) > maxBastionEnv {
		v = v[:maxBastionEnv]
	}
	ss.bastionEnv[e.Name] = strings.ToValidUTF8(v, "")
	return true
}

// commandRequest is what the judge is asked about this session's command.
func (ss *session) commandRequest() CommandRequest {
	env := map[string]string{}
	for k, v := range ss.bastionEnv {
		env[k] = v
	}
	if j, ok := env[EnvJustification]; ok {
		env[EnvJustification], _ = ss.masker.MaskString(j)
	}
	return CommandRequest{
		SessionID: ss.id, Identity: ss.route.identity, Groups: ss.route.groups,
		Target: ss.route.target.Name, Login: ss.route.login, Command: ss.cmd,
		ShownCommand: ss.shownCmd, SourceAddr: ss.cs.source, Policy: ss.policy, Env: env,
		Mask: func(s string) string { m, _ := ss.masker.MaskString(s); return m },
		Notify: func(line string) {
			// The client may be gone; the judge's context says so.
			_, _ = ss.ch.Stderr().Write([]byte("bastion: " + oneLine(line) + ss.newline()))
		},
	}
}

// judgesCommands reports whether this session's policy has command rules:
// without them every command that parses is allowed, so no decision is
// there to be changed by the environment.
func (ss *session) judgesCommands() bool {
	return ss.policy != nil && ss.policy.Commands.Configured()
}
