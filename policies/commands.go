package policies

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CommandAction is what the bastion does with a command a client asks to
// run. The order allow < review < deny is "strictest wins".
type CommandAction string

const (
	// CommandAllow runs the command.
	CommandAllow CommandAction = "allow"
	// CommandReview holds the command until reviewers approve it.
	CommandReview CommandAction = "review"
	// CommandDeny refuses the command; the target never sees it.
	CommandDeny CommandAction = "deny"
)

// Defaults for a review when neither the rule nor the commands section
// says otherwise.
const (
	DefaultReviewTimeout = 15 * time.Minute
	DefaultApprovals     = 1
	// MaxReviewTimeout bounds every wait: nothing is held for a day.
	MaxReviewTimeout = 24 * time.Hour
)

// Rank orders actions for "strictest wins"; anything unknown ranks as deny
// (fail closed).
func (a CommandAction) Rank() int {
	switch a {
	case CommandAllow:
		return 0
	case CommandReview:
		return 1
	}
	return 2
}

// Commands holds the rules for exec commands. The zero value allows every
// command (as before the section existed), except what cannot be judged
// statically, which is always reviewed.
type Commands struct {
	// Default is the action for a command no rule matches; empty means allow.
	Default CommandAction `yaml:"default"`
	// Rules are evaluated in order; the first that matches decides.
	Rules []CommandRule `yaml:"rules"`
	// Reviewers, Approvals and Timeout apply to reviews no rule configures:
	// "default: review" and commands that cannot be judged statically.
	// Empty reviewers means any identity in group "security".
	Reviewers []string `yaml:"reviewers"`
	Approvals int      `yaml:"approvals"`
	Timeout   string   `yaml:"timeout"`
}

// CommandRule applies Action to the commands it matches. Programs are
// compared after quote removal and path stripping (shell-style patterns
// allowed); Args are globs over the arguments joined by single spaces, where
// "*" matches any text, "/" included. Identities, Groups, Targets and Logins
// narrow the rule when set.
type CommandRule struct {
	Name       string        `yaml:"name"`
	Identities []string      `yaml:"identities"`
	Groups     []string      `yaml:"groups"`
	Targets    []string      `yaml:"targets"`
	Logins     []string      `yaml:"logins"`
	Programs   []string      `yaml:"programs"`
	Args       []string      `yaml:"args"`
	Action     CommandAction `yaml:"action"`
	// Reviewers are groups or identities that may decide a held command.
	Reviewers []string `yaml:"reviewers"`
	// Approvals is how many distinct reviewers must approve (N of M).
	Approvals int `yaml:"approvals"`
	// Timeout is how long a held command waits; no decision by then is a
	// deny. A Go duration ("15m").
	Timeout string `yaml:"timeout"`

	args []*regexp.Regexp // compiled Args, set by validate
}

// CommandSubject is who runs a command where.
type CommandSubject struct {
	Identity string
	Groups   []string
	Target   string
	Login    string
}

// Review is what a held command needs before it runs.
type Review struct {
	Reviewers []string
	Approvals int
	Timeout   time.Duration
}

// Match returns the first rule that applies to s and matches program
// (already stripped of quotes and path) with its arguments, or nil.
func (c *Commands) Match(s CommandSubject, program string, args []string) *CommandRule {
	if c == nil {
		return nil
	}
	joined := strings.Join(args, " ")
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.appliesTo(s) && r.namesProgram(program) && r.matchArgs(joined) {
			return r
		}
	}
	return nil
}

// ArgsUncertain reports whether a rule for program that applies to s looks
// at arguments, so that an argument computed at run time could change the
// decision.
func (c *Commands) ArgsUncertain(s CommandSubject, program string) bool {
	if c == nil {
		return false
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if len(r.Args) > 0 && r.appliesTo(s) && r.namesProgram(program) {
			return true
		}
	}
	return false
}

// Configured reports whether the policy has command rules at all. Without
// them exec commands are not judged (each is still audited): nothing could
// decide a command held for review, so holding it would only break it.
func (c *Commands) Configured() bool {
	return c != nil && (c.Default != "" || len(c.Rules) > 0)
}

// DefaultAction is the action for a command no rule matches.
func (c *Commands) DefaultAction() CommandAction {
	if c == nil || c.Default == "" {
		return CommandAllow
	}
	return c.Default
}

// DefaultReview is the review for holds no rule configures.
func (c *Commands) DefaultReview() Review {
	if c == nil {
		return Review{Reviewers: []string{"security"}, Approvals: DefaultApprovals, Timeout: DefaultReviewTimeout}
	}
	rv := Review{Reviewers: c.Reviewers, Approvals: c.Approvals, Timeout: parseTimeout(c.Timeout)}
	if len(rv.Reviewers) == 0 {
		rv.Reviewers = []string{"security"}
	}
	if rv.Approvals <= 0 {
		rv.Approvals = DefaultApprovals
	}
	return rv
}

// Review is what a hold under this rule needs; unset fields fall back to
// the section's defaults d.
func (r *CommandRule) Review(d Review) Review {
	rv := Review{Reviewers: r.Reviewers, Approvals: r.Approvals, Timeout: parseTimeout(r.Timeout)}
	if len(rv.Reviewers) == 0 {
		rv.Reviewers = d.Reviewers
	}
	if rv.Approvals <= 0 {
		rv.Approvals = d.Approvals
	}
	if r.Timeout == "" {
		rv.Timeout = d.Timeout
	}
	return rv
}

// MayDecide reports whether identity (with groups) is one of the reviewers:
// named directly or through a group.
func (rv Review) MayDecide(identity string, groups []string) bool {
	for _, r := range rv.Reviewers {
		if r == identity || slices.Contains(groups, r) {
			return true
		}
	}
	return false
}

func (r *CommandRule) appliesTo(s CommandSubject) bool {
	if len(r.Identities) > 0 || len(r.Groups) > 0 {
		ok := slices.Contains(r.Identities, s.Identity)
		for _, g := range s.Groups {
			ok = ok || slices.Contains(r.Groups, g)
		}
		if !ok {
			return false
		}
	}
	if len(r.Targets) > 0 && !matchAny(r.Targets, s.Target) {
		return false
	}
	return len(r.Logins) == 0 || matchAny(r.Logins, s.Login)
}

func (r *CommandRule) namesProgram(program string) bool {
	return len(r.Programs) == 0 || matchAny(r.Programs, program)
}

func (r *CommandRule) matchArgs(joined string) bool {
	if len(r.Args) == 0 {
		return true
	}
	res := r.args
	if res == nil {
		res = compileArgGlobs(r.Args) // a rule built in code, not loaded: compile, never store (shared)
	}
	for _, re := range res {
		if re.MatchString(joined) {
			return true
		}
	}
	return false
}

// compileArgGlobs turns argument globs into anchored regular expressions:
// "*" is any text (slashes and spaces included), "?" one character, and
// everything else literal.
func compileArgGlobs(globs []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(globs))
	for _, g := range globs {
		var b strings.Builder
		b.WriteString(`(?s)\A`)
		for _, r := range g {
			switch r {
			case '*':
				b.WriteString(`.*`)
			case '?':
				b.WriteString(`.`)
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString(`\z`)
		out = append(out, regexp.MustCompile(b.String()))
	}
	return out
}

func parseTimeout(s string) time.Duration {
	if s == "" {
		return DefaultReviewTimeout
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return DefaultReviewTimeout // unreachable for a validated policy
	}
	return d
}

func (c *Commands) validate() error {
	if err := checkCommandAction("commands.default", c.Default, true); err != nil {
		return err
	}
	if err := checkReview("commands", c.Approvals, c.Timeout, c.Reviewers); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		field := fmt.Sprintf("commands.rules[%d]", i)
		if r.Name == "" {
			return fmt.Errorf("%w: %s.name: missing", ErrInvalid, field)
		}
		if strings.ContainsAny(r.Name, " \t\n:=") {
			return fmt.Errorf("%w: %s.name: %q may not contain spaces, ':' or '='", ErrInvalid, field, r.Name)
		}
		if names[r.Name] {
			return fmt.Errorf("%w: %s.name: duplicate rule name %q", ErrInvalid, field, r.Name)
		}
		names[r.Name] = true
		field += " (" + r.Name + ")"
		if err := checkCommandAction(field+".action", r.Action, false); err != nil {
			return err
		}
		for _, p := range []struct {
			name string
			pats []string
		}{{"targets", r.Targets}, {"logins", r.Logins}, {"programs", r.Programs}} {
			if err := checkPatterns(field+"."+p.name, p.pats); err != nil {
				return err
			}
		}
		for _, p := range r.Programs {
			if strings.Contains(p, "/") {
				return fmt.Errorf("%w: %s.programs: %q has a path; programs are matched by name, paths stripped", ErrInvalid, field, p)
			}
		}
		for _, a := range r.Args {
			if a == "" {
				return fmt.Errorf("%w: %s.args: empty glob", ErrInvalid, field)
			}
		}
		if len(r.Programs) == 0 && len(r.Args) > 0 {
			return fmt.Errorf("%w: %s.args: needs programs", ErrInvalid, field)
		}
		r.args = compileArgGlobs(r.Args)
		if r.Action != CommandReview && (len(r.Reviewers) > 0 || r.Approvals != 0 || r.Timeout != "") {
			return fmt.Errorf("%w: %s: reviewers, approvals and timeout only apply to action review", ErrInvalid, field)
		}
		if err := checkReview(field, r.Approvals, r.Timeout, r.Reviewers); err != nil {
			return err
		}
	}
	return nil
}

func checkReview(field string, approvals int, timeout string, reviewers []string) error {
	if approvals < 0 || approvals > 10 {
		return fmt.Errorf("%w: %s.approvals: %d is not between 1 and 10", ErrInvalid, field, approvals)
	}
	// A group can hold any number of people; identities can be counted.
	if approvals > len(reviewers) && len(reviewers) > 0 && allIdentities(reviewers) {
		return fmt.Errorf("%w: %s.approvals: %d approvals but only %d reviewers named", ErrInvalid, field, approvals, len(reviewers))
	}
	for _, r := range reviewers {
		if r == "" {
			return fmt.Errorf("%w: %s.reviewers: empty name", ErrInvalid, field)
		}
	}
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 || d > MaxReviewTimeout {
			return fmt.Errorf("%w: %s.timeout: %q is not a duration between 1s and 24h (e.g. 15m)", ErrInvalid, field, timeout)
		}
	}
	return nil
}

// allIdentities reports whether every reviewer is an identity (has an @),
// so that the number of possible approvers is known.
func allIdentities(reviewers []string) bool {
	for _, r := range reviewers {
		if !strings.Contains(r, "@") {
			return false
		}
	}
	return true
}

func checkCommandAction(field string, a CommandAction, optional bool) error {
	switch a {
	case CommandAllow, CommandReview, CommandDeny:
		return nil
	case "":
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s: missing (allow, review or deny)", ErrInvalid, field)
	}
	return fmt.Errorf("%w: %s: %q is not allow, review or deny", ErrInvalid, field, a)
}
