package cmdjudge

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/bastion-ssh/bastion/policies"
)

// Rule names used when no policy rule decided.
const (
	// RuleDefault: no rule matched; the section's default applied.
	RuleDefault = "default"
	// RuleUnjudgeable: the line holds something the judge cannot see into
	// (a computed command name, inline code, eval, unparseable input).
	RuleUnjudgeable = "unjudgeable"
)

// Limits on what the judge reads. Beyond them the line is reviewed.
const (
	// MaxLine is the longest command line judged.
	MaxLine = 64 << 10
	// maxDepth bounds how deep inline code (sh -c, eval, wrappers) is
	// followed.
	maxDepth = 8
	// maxCommands bounds the simple commands judged in one line, nested
	// ones included, so that a crafted line cannot make judging slow.
	maxCommands = 4096
)

// Decision is the judgement of a whole command line: the strictest of its
// parts. Rule names the policy rule (or RuleDefault, RuleUnjudgeable);
// Part is the piece of the line that decided; Reason says why, in words a
// user can act on.
type Decision struct {
	Action policies.CommandAction
	Rule   string
	Reason string
	Part   string
	// Review is what a held command needs; set when Action is review.
	Review policies.Review
}

// Judge decides a command line for subject s under cmds. It never panics
// and never allows what it could not parse.
func Judge(cmds *policies.Commands, s policies.CommandSubject, line string) (d Decision) {
	if !cmds.Configured() {
		return Decision{Action: policies.CommandAllow, Rule: RuleDefault, Reason: "the policy has no command rules"}
	}
	j := &judge{cmds: cmds, subj: s}
	defer func() {
		if r := recover(); r != nil {
			// A bug in the judge must not open the gate: review, never allow.
			j.unjudgeable(line, fmt.Sprintf("the judge failed on this line (%v)", r))
			d = j.result()
		}
	}()
	j.line(line, 0)
	return j.result()
}

// judge accumulates the strictest decision over all parts of a line.
type judge struct {
	cmds *policies.Commands
	subj policies.CommandSubject
	best Decision
	set  bool
	work int // simple commands judged so far, against maxCommands
}

func (j *judge) result() Decision {
	d := j.best
	if !j.set {
		// An empty line runs nothing; the default still speaks for it, so
		// that "default: deny" means what it says.
		d = Decision{Action: j.cmds.DefaultAction(), Rule: RuleDefault, Reason: "no command"}
	}
	if d.Action == policies.CommandReview {
		d.Review = j.reviewFor(d.Rule)
	}
	return d
}

func (j *judge) reviewFor(rule string) policies.Review {
	def := j.cmds.DefaultReview()
	if j.cmds != nil {
		for i := range j.cmds.Rules {
			if j.cmds.Rules[i].Name == rule {
				return j.cmds.Rules[i].Review(def)
			}
		}
	}
	return def
}

// consider keeps d if it is stricter than what was seen; the first part
// wins a tie, so the decision names the leftmost strictest part.
func (j *judge) consider(d Decision) {
	if !j.set || d.Action.Rank() > j.best.Action.Rank() {
		j.best, j.set = d, true
	}
}

func (j *judge) unjudgeable(part, reason string) {
	j.consider(Decision{Action: policies.CommandReview, Rule: RuleUnjudgeable, Reason: reason, Part: part})
}

// line parses src as bash and judges every simple command in it.
func (j *judge) line(src string, depth int) {
	if depth > maxDepth {
		j.unjudgeable(src, "inline code nested too deeply to follow")
		return
	}
	if len(src) > MaxLine {
		j.unjudgeable(src[:80]+"…", fmt.Sprintf("longer than %d bytes", MaxLine))
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		j.unjudgeable(src, "cannot be parsed as a shell command: "+err.Error())
		return
	}
	// stdin maps a statement to the one piping into it, so that a shell
	// reading code from a pipe can be judged on what it reads.
	stdin := map[*syntax.Stmt]*syntax.Stmt{}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.BinaryCmd:
			if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
				stdin[n.Y] = n.X
			}
		case *syntax.Stmt:
			if call, ok := n.Cmd.(*syntax.CallExpr); ok {
				j.call(src, n, call, stdin[n], depth)
			}
		case *syntax.FuncDecl:
			j.funcDecl(src, n)
		case *syntax.DeclClause:
			j.declClause(src, n)
		case *syntax.Lit:
			if historyExpansion(n.Value) {
				j.unjudgeable(n.Value, "history expansion ('!') is decided at run time")
			}
		case *syntax.SglQuoted:
			// The target runs the line with the login's own shell: dash
			// and other POSIX shells read $'...' as "$" and a plain quoted
			// string, so the quotes end elsewhere than bash says.
			if n.Dollar {
				j.unjudgeable(nodeText(src, n), "$'...' quoting is read differently by the target's shell if it is not bash")
			}
		case *syntax.ExtGlob:
			// zsh reads *(...) as glob qualifiers, and e:...: runs code.
			j.unjudgeable(nodeText(src, n), "a pattern like *(...) runs code as a glob qualifier in zsh")
		}
		return true
	})
}

// call judges one simple command (its words, then the program they name).
func (j *judge) call(src string, st *syntax.Stmt, c *syntax.CallExpr, from *syntax.Stmt, depth int) {
	part := nodeText(src, c)
	for _, a := range c.Assigns {
		j.assign(src, a)
	}
	if len(c.Args) == 0 {
		return
	}
	args, ok := expandWords(src, c.Args)
	if !ok {
		j.unjudgeable(part, "brace expansion too large to judge")
		return
	}
	in := input{src: src, redirs: st.Redirs, from: from}
	j.simple(part, args, in, depth)
}

// input is where a command's standard input comes from, for shells and
// interpreters that read code from it.
type input struct {
	src    string
	redirs []*syntax.Redirect
	from   *syntax.Stmt // the statement piping into it, if any
}

// simple judges program args[0] with its arguments: the policy rules, then
// what the program itself does with its arguments (wrappers, shells).
func (j *judge) simple(part string, args []arg, in input, depth int) {
	if len(args) == 0 {
		return
	}
	if j.work++; j.work > maxCommands {
		if j.work == maxCommands+1 {
			j.unjudgeable(part, "too many commands in one line to judge")
		}
		return
	}
	if !args[0].static {
		j.unjudgeable(part, "the command name is "+args[0].why+", known only at run time")
		return
	}
	if strings.HasPrefix(args[0].text, "=") {
		// zsh expands "=rm" to rm's path and runs it.
		j.unjudgeable(part, "zsh runs =NAME as the program NAME")
		return
	}
	prog := programName(args[0].text)
	if prog == "" {
		j.unjudgeable(part, "empty command name")
		return
	}
	texts := make([]string, len(args)-1)
	dynamic := false
	for i, a := range args[1:] {
		texts[i] = a.text
		dynamic = dynamic || !a.static
	}
	r := j.cmds.Match(j.subj, prog, texts)
	if r != nil {
		j.consider(Decision{Action: r.Action, Rule: r.Name, Reason: reasonFor(r.Action, prog), Part: part})
	} else if dynamic && j.cmds.ArgsUncertain(j.subj, prog) {
		j.unjudgeable(part, "a rule for "+prog+" looks at arguments computed at run time")
	} else {
		j.consider(Decision{Action: j.cmds.DefaultAction(), Rule: RuleDefault, Reason: reasonFor(j.cmds.DefaultAction(), prog), Part: part})
	}
	// Only a matching rule that names the program itself (not through a
	// pattern) may decide a construct the judge cannot see into.
	explicit := r != nil && slices.Contains(r.Programs, prog)
	j.program(prog, part, args, in, depth, explicit)
}

func reasonFor(a policies.CommandAction, prog string) string {
	switch a {
	case policies.CommandDeny:
		return prog + " is not allowed"
	case policies.CommandReview:
		return prog + " needs approval"
	}
	return prog + " is allowed"
}

// programName strips the path: "/usr/bin/rm", "./rm" and "rm" all name rm.
func programName(word string) string {
	if word == "" || strings.Trim(word, "/") == "" {
		return ""
	}
	return path.Base(word)
}

// dangerousVars change which program a name resolves to, or run code of
// their own, so setting them is reviewed.
var dangerousVars = map[string]bool{
	"PATH": true, "BASH_ENV": true, "ENV": true, "IFS": true, "PROMPT_COMMAND": true,
	"SHELLOPTS": true, "BASHOPTS": true, "PS4": true, "BASH_LOADABLES_PATH": true,
	"GLOBIGNORE": true, "CDPATH": true, "PERL5OPT": true, "PYTHONSTARTUP": true,
	"PYTHONPATH": true, "NODE_OPTIONS": true, "RUBYOPT": true, "BASH_FUNC": true,
}

func (j *judge) assign(src string, a *syntax.Assign) {
	if a.Name == nil {
		// declare/export with a computed word: it may set anything.
		if a.Value != nil && !wordArg(src, a.Value).static {
			j.unjudgeable(nodeText(src, a), "a declaration computed at run time")
		}
		return
	}
	name := a.Name.Value
	if dangerousVars[name] || strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "BASH_FUNC_") {
		j.unjudgeable(nodeText(src, a), "setting "+name+" changes what later commands run")
		return
	}
	// Code kept in a variable can be run later by arithmetic or eval
	// without ever appearing as a command.
	if a.Value != nil {
		if v := wordArg(src, a.Value); v.static && (strings.Contains(v.text, "`") || strings.Contains(v.text, "$(")) {
			j.unjudgeable(nodeText(src, a), "a variable holding command text")
		}
	}
}

func (j *judge) declClause(src string, d *syntax.DeclClause) {
	for _, a := range d.Args {
		j.assign(src, a)
	}
}

// funcDecl reviews a function that shadows a program some rule judges (or a
// wrapper or interpreter): calls to it would not be what they seem. Its
// body is judged like any other code, by the walk.
func (j *judge) funcDecl(src string, f *syntax.FuncDecl) {
	names := f.Names
	if f.Name != nil {
		names = append(names, f.Name)
	}
	for _, n := range names {
		if j.shadows(n.Value) {
			j.unjudgeable(nodeText(src, f), "a function named "+n.Value+" shadows a judged program")
		}
	}
}

func (j *judge) shadows(name string) bool {
	if _, ok := wrappers[name]; ok {
		return true
	}
	if shells[name] || interpreter(name) || name == "eval" || name == "source" || name == "." {
		return true
	}
	if j.cmds == nil {
		return false
	}
	for i := range j.cmds.Rules {
		for _, p := range j.cmds.Rules[i].Programs {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
	}
	return false
}

// historyExpansion reports whether an interactive bash would expand s with
// history: a '!' followed by anything but a blank, '=', '(' or the end.
func historyExpansion(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '!' || i+1 >= len(s) {
			continue
		}
		switch s[i+1] {
		case ' ', '\t', '\n', '=', '(':
			continue
		}
		return true
	}
	return false
}
