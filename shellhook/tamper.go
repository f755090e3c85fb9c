package shellhook

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// protected are the names the hook depends on. A command that mentions
// one (unset BASH_COMMAND, SRANDOM=1, readonly POSIXLY_CORRECT, a new
// definition of the hook) is a tamper, whatever it does with it: bash
// reports a plain variable once BASH_COMMAND was unset, so the next
// command would be judged by a name of the user's choosing. The hook's
// own variables (__bastion_c, ...) are its state: made a nameref to
// "a[$(cmd)]", assigning one would run cmd inside the trap, where bash
// runs no DEBUG trap. PS4 is expanded for every line xtrace prints, the
// trap's own included (before the hook can turn xtrace off), so a
// command substitution in it would run unjudged the same way.
// BASH_CMDS is bash's table of where each command name runs from:
// BASH_CMDS[ls]=/bin/rm makes the hook see "ls" and the shell run rm.
var protected = []string{"BASH_COMMAND", "SRANDOM", "POSIXLY_CORRECT", "SHELLOPTS", "BASHOPTS", "__bastion_", "PS4", "BASH_CMDS"}

// shells start an interactive shell the hook does not live in.
var shells = []string{"bash", "sh", "dash", "zsh", "ksh", "mksh", "yash", "fish", "tcsh", "csh", "busybox",
	"screen", "tmux", "script", "su"}

// runner is a program (or builtin) that runs a later word of its command
// line as a program in the same terminal: which of its options take a
// value, how many operands come before the command, and which options
// start a shell when no command follows (sudo -i). The tables follow the manuals (bash, GNU
// coreutils, util-linux, sudo), as cmdjudge's wrappers do.
type runner struct {
	optArg      []string
	positionals int
	skipAssigns bool // NAME=VALUE operands come first (env)
	shellOpts   []string
}

var runners = map[string]runner{
	"command": {}, "builtin": {}, "exec": {optArg: []string{"-a"}},
	"env":   {optArg: []string{"-u", "--unset", "-C", "--chdir"}, skipAssigns: true},
	"nohup": {}, "setsid": {},
	"nice":    {optArg: []string{"-n", "--adjustment"}},
	"stdbuf":  {optArg: []string{"-i", "-o", "-e", "--input", "--output", "--error"}},
	"timeout": {optArg: []string{"-s", "--signal", "-k", "--kill-after"}, positionals: 1},
	"sudo": {optArg: []string{"-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir", "-h", "--host",
		"-p", "--prompt", "-r", "--role", "-t", "--type", "-U", "--other-user", "-T", "--command-timeout", "-R", "--chroot"},
		shellOpts: []string{"-s", "--shell", "-i", "--login"}},
	"doas": {optArg: []string{"-u", "-C"}, shellOpts: []string{"-s"}},
}

// setters name variables in their arguments; a computed name could be a
// protected one.
var setters = []string{"unset", "declare", "typeset", "local", "readonly", "export", "read", "mapfile",
	"readarray", "getopts", "let"}

// SeenThrough reports whether cmd is one simple command whose effect the
// hook sees command by command: eval, source and . run shell code in the
// guarded shell itself, each command of which the hook is asked about;
// alias defines text that bash expands before the hook sees a command.
// The judge, which holds these for review because it cannot see through
// them statically, need not be asked.
func SeenThrough(cmd string) bool {
	if control(cmd) {
		return true
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(cmd), "")
	if err != nil || len(f.Stmts) != 1 || f.Stmts[0].Background || f.Stmts[0].Coprocess || len(f.Stmts[0].Redirs) > 0 {
		return false
	}
	c, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(c.Args) == 0 || len(c.Assigns) > 0 {
		return false
	}
	name, lit := wordLit(c.Args[0])
	return lit && (name == "eval" || name == "source" || name == "." || name == "alias")
}

// control reports whether cmd is the head of a compound command, which
// bash also runs the DEBUG trap for ("for i in LIST", "case WORD in",
// "select x in LIST"): not a program, and its words' substitutions run
// in subshells the hook asks about. Only bash writes a reserved word
// first: a command named so would have to be quoted.
func control(cmd string) bool {
	for _, kw := range []string{"for ", "case ", "select "} {
		if strings.HasPrefix(cmd, kw) {
			return true
		}
	}
	return false
}

// Tampers reports why running cmd (one simple command as the hook sees
// it, or a line) would switch the guard off or blind it, or "" if it
// would not. Anything it cannot parse is a tamper: the hook sees the
// command's text before expansion, so it can always be parsed unless
// crafted.
func Tampers(cmd string) string {
	if control(cmd) {
		return ""
	}
	for _, p := range protected {
		if strings.Contains(cmd, p) {
			return "it names the guard's own state (" + p + ")"
		}
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return "it cannot be parsed"
	}
	why := ""
	syntax.Walk(f, func(n syntax.Node) bool {
		if why != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.CallExpr:
			why = tampersCall(n.Args)
		case *syntax.DeclClause:
			why = tampersDecl(n)
		}
		return true
	})
	return why
}

func tampersCall(args []*syntax.Word) string {
	words := make([]string, len(args))
	literal := make([]bool, len(args))
	for i, w := range args {
		words[i], literal[i] = wordLit(w)
	}
	// Prefixes that run a later word as the command in this terminal:
	// the command is what is judged (exec -a NAME bash, env bash and
	// sudo -u root bash start the shell bash would).
	for len(words) > 0 && literal[0] {
		r, ok := runners[path.Base(words[0])]
		if !ok {
			break
		}
		drop := func(n int) { words, literal, args = words[n:], literal[n:], args[n:] }
		drop(1)
		shell := false
		for len(words) > 0 && strings.HasPrefix(words[0], "-") && len(words[0]) > 1 {
			o := words[0]
			if o == "--" {
				drop(1)
				break
			}
			if !strings.HasPrefix(o, "--") && len(o) > 2 {
				// A cluster of short options (sudo -iu postgres): its
				// last may take the next word.
				for _, l := range o[1:] {
					shell = shell || contains(r.shellOpts, "-"+string(l))
				}
				o = "-" + o[len(o)-1:]
			}
			shell = shell || contains(r.shellOpts, o)
			if contains(r.optArg, o) && len(words) > 1 {
				drop(2)
			} else {
				drop(1)
			}
		}
		for r.skipAssigns && len(words) > 0 && strings.Contains(words[0], "=") {
			drop(1)
		}
		drop(min(r.positionals, len(words)))
		if len(words) == 0 && shell {
			return "a shell started here would not be guarded"
		}
	}
	if len(words) == 0 {
		return ""
	}
	if !literal[0] {
		for _, p := range args[0].Parts {
			if l, ok := p.(*syntax.Lit); ok && strings.ContainsAny(l.Value, "{*?[") && l.Value != "[" {
				return "a command name that expands could hide what runs"
			}
		}
		return ""
	}
	if strings.ContainsAny(words[0], "{*?[") && words[0] != "[" && words[0] != "[[" {
		return "a command name that expands could hide what runs"
	}
	name := path.Base(words[0])
	rest, restLit := words[1:], literal[1:]
	allLiteral := !contains(restLit, false)
	switch name {
	case "trap":
		for _, a := range rest {
			if a != "-l" && a != "-p" {
				return "trap would replace the guard's hook"
			}
		}
		if !allLiteral {
			return "trap would replace the guard's hook"
		}
	case "set":
		if !allLiteral {
			return "set with computed options could turn functrace off"
		}
		for i, a := range rest {
			if strings.HasPrefix(a, "+") && a != "+o" && strings.Contains(a, "T") {
				return "set +T turns functrace off"
			}
			if a == "+o" && i+1 < len(rest) && rest[i+1] == "functrace" {
				return "set +o functrace turns the hook off in functions"
			}
			if (strings.HasPrefix(a, "-") && a != "-o" && strings.Contains(a, "m")) || (a == "-o" && i+1 < len(rest) && rest[i+1] == "monitor") {
				return "job control would take the terminal from the hook"
			}
		}
	case "shopt":
		if !allLiteral {
			return "shopt with computed options could turn extdebug off"
		}
		unsets := false
		for _, a := range rest {
			unsets = unsets || (strings.HasPrefix(a, "-") && strings.Contains(a, "u"))
		}
		if unsets && (contains(rest, "extdebug") || contains(rest, "functrace")) {
			return "shopt -u extdebug turns the hook's veto off"
		}
	case "enable":
		for i, a := range rest {
			if !restLit[i] || !strings.HasPrefix(a, "-") || strings.ContainsAny(a, "nfd") {
				return "enable would change the builtins the hook relies on"
			}
		}
	case "hash":
		for i, a := range rest {
			if !restLit[i] || (strings.HasPrefix(a, "-") && strings.Contains(a, "p")) {
				return "hash -p would run another program under a command's name"
			}
		}
	case "printf":
		for i, a := range rest {
			if a == "-v" && (i+1 >= len(rest) || !restLit[i+1]) {
				return "printf -v with a computed name could reach the guard's state"
			}
		}
	}
	if contains(setters, name) {
		nameref := false
		for _, a := range rest {
			nameref = nameref || (strings.HasPrefix(a, "-") && strings.Contains(a, "n") && name != "read" && name != "mapfile" && name != "readarray")
		}
		for i, a := range args[1:] {
			if !restLit[i] && (nameref || !literalName(a)) {
				return name + " with a computed name could reach the guard's state"
			}
		}
	}
	if contains(shells, name) && startsShell(name, rest) {
		return "a shell started here would not be guarded"
	}
	return ""
}

// wordLit returns a word's value after quote removal, if nothing in it
// expands.
func wordLit(w *syntax.Word) (string, bool) { return plainWord(w) }

// tampersDecl judges declare, local, export, readonly and typeset: a
// computed name, or a nameref to a computed one, could reach the guard's
// state.
func tampersDecl(d *syntax.DeclClause) string {
	nameref := false
	for _, a := range d.Args {
		if a.Naked && a.Value != nil {
			v, ok := wordLit(a.Value)
			if !ok {
				return d.Variant.Value + " with a computed name could reach the guard's state"
			}
			nameref = nameref || (strings.HasPrefix(v, "-") && strings.Contains(v, "n"))
		}
	}
	for _, a := range d.Args {
		if a.Value != nil && !a.Naked && nameref {
			if _, ok := wordLit(a.Value); !ok {
				return d.Variant.Value + " -n with a computed target could reach the guard's state"
			}
		}
	}
	return ""
}

// literalName reports whether an assignment-like word has a literal name
// before its "=" (export PATH=$PATH:/x is fine).
func literalName(w *syntax.Word) bool {
	if len(w.Parts) == 0 {
		return false
	}
	l, ok := w.Parts[0].(*syntax.Lit)
	return ok && strings.Contains(l.Value, "=")
}

// startsShell reports whether name with args starts an interactive
// session rather than running given code or a script (which the judge
// reviews): no operand, or an explicit -i, -s or -l.
func startsShell(name string, args []string) bool {
	switch name {
	case "screen", "tmux", "su":
		return !contains(args, "-c")
	case "script":
		return !contains(args, "-c")
	case "busybox":
		return len(args) > 0 && (args[0] == "sh" || args[0] == "ash" || args[0] == "hush") && !contains(args, "-c")
	}
	for _, a := range args {
		if a == "-c" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c")) {
			return false
		}
		if a == "-i" || a == "-s" || a == "--login" || a == "-l" {
			return true
		}
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "+") {
			return false // a script: the judge decides
		}
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
