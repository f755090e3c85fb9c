package cmdjudge

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/bastion-ssh/bastion/policies"
)

// Case is one expectation in a policy's case table: who runs which command
// where, and what the policy must decide.
type Case struct {
	Name     string   `yaml:"name"`
	Identity string   `yaml:"identity"`
	Groups   []string `yaml:"groups"`
	Target   string   `yaml:"target"`
	Login    string   `yaml:"login"`
	Command  string   `yaml:"command"`
	// Action is the expected action; Rule, when set, the expected rule.
	Action policies.CommandAction `yaml:"action"`
	Rule   string                 `yaml:"rule"`
}

// CaseResult is a case with what the policy actually decided.
type CaseResult struct {
	Case
	Got Decision
	OK  bool
}

// ParseCases reads a case table: a YAML document with a "cases" list.
// Unknown fields are errors, as in a policy.
func ParseCases(data []byte) ([]Case, error) {
	var doc struct {
		Cases []Case `yaml:"cases"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cmdjudge: cases: %w", err)
	}
	if len(doc.Cases) == 0 {
		return nil, fmt.Errorf("cmdjudge: cases: no cases")
	}
	for i, c := range doc.Cases {
		switch {
		case c.Identity == "" || c.Target == "" || c.Login == "":
			return nil, fmt.Errorf("cmdjudge: cases[%d] (%s): identity, target and login are required", i, c.Name)
		case c.Action != policies.CommandAllow && c.Action != policies.CommandReview && c.Action != policies.CommandDeny:
			return nil, fmt.Errorf("cmdjudge: cases[%d] (%s): action %q is not allow, review or deny", i, c.Name, c.Action)
		}
	}
	return doc.Cases, nil
}

// RunCases judges every case under p.
func RunCases(p *policies.Policy, cases []Case) []CaseResult {
	out := make([]CaseResult, len(cases))
	for i, c := range cases {
		s := policies.CommandSubject{Identity: c.Identity, Groups: c.Groups, Target: c.Target, Login: c.Login}
		d := Judge(&p.Commands, s, c.Command)
		out[i] = CaseResult{Case: c, Got: d, OK: d.Action == c.Action && (c.Rule == "" || c.Rule == d.Rule)}
	}
	return out
}
