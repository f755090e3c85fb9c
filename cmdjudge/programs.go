package cmdjudge

import (
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// wrapper describes a program that runs another program from its
// arguments: which options take a value (so the value is not mistaken for
// the command), how many operands come before the command, and which
// options turn the rest into shell code.
type wrapper struct {
	optArg      []string // options followed by a separate value
	positionals int      // operands before the command (timeout's duration)
	codeOpts    []string // options whose value is shell code (su -c)
	restIsCode  bool     // the command words are joined and run by a shell (watch, ssh)
	shellOpts   []string // options that make the rest shell code (sudo -s)
	noRunOpts   []string // options with which nothing is run (command -v)
	skipAssigns bool     // NAME=VALUE operands are skipped (env)
	fromStdin   bool     // the command gets more arguments from stdin (xargs)
	noCmdShell  bool     // with no command, an interactive shell runs (chroot, su)
}

// wrappers run their arguments as a command; the inner command is judged
// like any other. Option tables follow the GNU coreutils, util-linux,
// sudo, findutils and procps manuals; where a wrapper's options are not
// fully known, every operand before the command is also judged as a
// command of its own (see judge.wrapped), so a misread option cannot hide
// one.
var wrappers = map[string]wrapper{
	"env":               {optArg: []string{"-u", "--unset", "-C", "--chdir"}, codeOpts: []string{"-S", "--split-string"}, skipAssigns: true},
	"sudo":              {optArg: []string{"-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir", "-h", "--host", "-p", "--prompt", "-r", "--role", "-t", "--type", "-U", "--other-user", "-T", "--command-timeout", "-R", "--chroot"}, shellOpts: []string{"-s", "--shell", "-i", "--login"}, noCmdShell: true},
	"doas":              {optArg: []string{"-u", "-C"}, shellOpts: []string{"-s"}, noCmdShell: true},
	"su":                {optArg: []string{"-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w", "--whitelist-environment"}, codeOpts: []string{"-c", "--command", "--session-command"}, positionals: 1, noCmdShell: true, restIsCode: true},
	"runuser":           {optArg: []string{"-s", "--shell", "-g", "--group", "-G", "--supp-group", "-u", "--user", "-w"}, codeOpts: []string{"-c", "--command", "--session-command"}, noCmdShell: true, restIsCode: true},
	"nice":              {optArg: []string{"-n", "--adjustment"}},
	"nohup":             {},
	"setsid":            {},
	"time":              {optArg: []string{"-f", "--format", "-o", "--output"}},
	"builtin":           {},
	"command":           {noRunOpts: []string{"-v", "-V"}},
	"exec":              {optArg: []string{"-a"}},
	"stdbuf":            {optArg: []string{"-i", "-o", "-e", "--input", "--output", "--error"}},
	"ionice":            {optArg: []string{"-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid", "-u", "--uid"}},
	"chrt":              {positionals: 1},
	"taskset":           {positionals: 1},
	"timeout":           {optArg: []string{"-s", "--signal", "-k", "--kill-after"}, positionals: 1},
	"chroot":            {optArg: []string{"--userspec", "--groups"}, positionals: 1, noCmdShell: true},
	"nsenter":           {optArg: []string{"-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd", "-r", "--root"}, noCmdShell: true},
	"unshare":           {optArg: []string{"--propagation", "--setgroups", "--map-user", "--map-group", "-S", "--setuid", "-G", "--setgid", "-R", "--root", "-w", "--wd"}, noCmdShell: true},
	"flock":             {optArg: []string{"-w", "--wait", "--timeout", "-E", "--conflict-exit-code"}, codeOpts: []string{"-c", "--command"}, positionals: 1},
	"xargs":             {optArg: []string{"-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "-n", "--max-args", "-P", "--max-procs", "-s", "--max-chars", "--process-slot-var"}, fromStdin: true},
	"watch":             {optArg: []string{"-n", "--interval", "-d", "-q", "--equexit"}, restIsCode: true},
	"busybox":           {},
	"sg":                {positionals: 1, codeOpts: []string{"-c"}, restIsCode: true, noCmdShell: true},
	"script":            {optArg: []string{"-E", "--echo", "-I", "--log-in", "-O", "--log-out", "-T", "--log-timing", "-m", "--logging-format", "-B", "--log-io"}, codeOpts: []string{"-c", "--command"}},
	"ssh":               {optArg: []string{"-b", "-B", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-P", "-Q", "-R", "-S", "-W", "-w"}, positionals: 1, restIsCode: true, noCmdShell: true},
	"parallel":          {restIsCode: true},
	"strace":            {optArg: []string{"-o", "-e", "-p", "-s", "-u", "-E", "-P", "-a", "-b", "-I", "-S", "-X"}},
	"ltrace":            {optArg: []string{"-o", "-e", "-p", "-s", "-u", "-a", "-A", "-D", "-F", "-l", "-n", "-x"}},
	"valgrind":          {},
	"unbuffer":          {},
	"eatmydata":         {},
	"nocache":           {},
	"torsocks":          {},
	"faketime":          {optArg: []string{"-m", "-f"}, positionals: 1},
	"proxychains":       {optArg: []string{"-f"}},
	"proxychains4":      {optArg: []string{"-f"}},
	"pkexec":            {optArg: []string{"--user"}, noCmdShell: true},
	"systemd-run":       {optArg: []string{"-p", "--property", "-u", "--unit", "-E", "--setenv", "--uid", "--gid", "--nice", "-M", "--machine", "--working-directory", "--description", "--slice", "--on-calendar", "--on-active"}},
	"catchsegv":         {},
	"firejail":          {},
	"sshpass":           {optArg: []string{"-p", "-f", "-d", "-P"}},
	"daemonize":         {optArg: []string{"-c", "-e", "-o", "-p", "-l", "-u", "-E"}},
	"start-stop-daemon": {},
	"dbus-launch":       {},
}

// shells run code: from -c, from a script file, or from standard input.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "ash": true,
	"fish": true, "csh": true, "tcsh": true, "yash": true, "posh": true, "rbash": true,
	"pdksh": true, "oksh": true, "ksh93": true, "busybox-sh": true,
	// at and batch read shell code from stdin or a file and run it later.
	"at": true, "batch": true,
}

// interpreterPrefixes name languages whose code the judge cannot read:
// "python3.12" starts with "python".
var interpreterPrefixes = []string{
	"python", "pypy", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php", "lua",
	"luajit", "tclsh", "wish", "expect", "rscript", "pwsh", "powershell", "osascript",
	"groovy", "jshell", "julia", "guile", "racket", "gdb", "run-parts", "make", "gmake",
}

func interpreter(name string) bool {
	lower := strings.ToLower(name)
	for _, p := range interpreterPrefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

var awks = map[string]bool{"awk": true, "gawk": true, "mawk": true, "nawk": true}

// awkRunsCommands finds the constructs by which awk runs a command:
// system(), and pipes to or from a command ("cmd" | getline, print | "cmd").
var awkRunsCommands = regexp.MustCompile(`system\s*\(|\|`)

// program judges what prog does with its arguments beyond its own name:
// the command a wrapper runs, the code a shell or interpreter is given.
func (j *judge) program(prog, part string, args []arg, in input, depth int, explicit bool) {
	if depth > maxDepth {
		j.unjudgeable(part, "wrappers nested too deeply to follow")
		return
	}
	review := func(reason string) {
		if !explicit {
			j.unjudgeable(part, reason)
		}
	}
	switch {
	case prog == "eval":
		review("eval runs text as code")
		j.code(part, args[1:], depth)
	case prog == "source" || prog == ".":
		review(prog + " runs a script the judge cannot read")
	case prog == "alias":
		for _, a := range args[1:] {
			if !a.static || strings.Contains(a.text, "=") {
				review("an alias can make a name run another program")
			}
		}
	case prog == "trap":
		if len(args) > 2 {
			j.code(part, args[1:2], depth)
		}
	case prog == "enable" || prog == "hash" || prog == "fc":
		review(prog + " can change what a name runs")
	case prog == "find":
		j.find(part, args, in, depth)
	case shells[prog]:
		j.shell(prog, part, args, in, depth, review)
	case awks[prog]:
		j.awk(part, args, review)
	case interpreter(prog):
		review(prog + " runs code the judge cannot read")
	default:
		j.runOptions(prog, part, args, depth, review)
		if w, ok := wrappers[prog]; ok {
			j.wrapped(prog, w, part, args, in, depth, review)
		}
	}
}

// code judges args joined by spaces as shell code (eval, trap, watch).
func (j *judge) code(part string, args []arg, depth int) {
	texts := make([]string, len(args))
	for i, a := range args {
		if !a.static {
			j.unjudgeable(part, "code built from "+a.why)
			return
		}
		texts[i] = a.text
	}
	if len(texts) > 0 {
		j.line(strings.Join(texts, " "), depth+1)
	}
}

// shell judges a shell invocation: inline code is judged, a script file
// cannot be, and code read from standard input is judged when the line
// shows it (a here-document, a here-string, echo piped in). All of it is
// reviewed unless a rule names the shell.
func (j *judge) shell(prog, part string, args []arg, in input, depth int, review func(string)) {
	inline := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !a.static {
			review(prog + " is given " + a.why)
			return
		}
		t := a.text
		switch {
		case t == "--" || t == "-":
			i = len(args)
		case t == "-o" || t == "+o" || t == "-O" || t == "+O" || t == "--rcfile" || t == "--init-file":
			i++
		case strings.HasPrefix(t, "--"):
		case (strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+")) && len(t) > 1:
			inline = inline || strings.Contains(t[1:], "c")
		case inline:
			review(prog + " -c runs inline code")
			j.line(t, depth+1)
			return
		default:
			review(prog + " runs a script the judge cannot read")
			return
		}
	}
	review(prog + " reads code from its input")
	if inline {
		return // -c with no code
	}
	for _, code := range stdinCode(in) {
		j.line(code, depth+1)
	}
}

// stdinCode returns the code a command reads on standard input when the
// line itself holds it. A computed here-document is judged through its
// substitutions by the walk; only literal text is returned here.
func stdinCode(in input) []string {
	var out []string
	for _, r := range in.redirs {
		switch {
		case r.Hdoc != nil:
			if text, ok := docText(r.Hdoc); ok {
				out = append(out, text)
			}
		case r.Op == syntax.WordHdoc && r.Word != nil:
			if a := wordArg(in.src, r.Word); a.static {
				out = append(out, a.text)
			}
		}
	}
	if in.from != nil {
		if c, ok := in.from.Cmd.(*syntax.CallExpr); ok && len(c.Args) > 1 {
			if args, ok := expandWords(in.src, c.Args); ok && args[0].static {
				if p := programName(args[0].text); p == "echo" || p == "printf" {
					var texts []string
					for _, a := range args[1:] {
						if a.static && !strings.HasPrefix(a.text, "-") {
							texts = append(texts, ansiC(a.text))
						}
					}
					out = append(out, strings.Join(texts, " "))
				}
			}
		}
	}
	return out
}

// docText is a here-document body without expansions: literal text only
// (no globbing or quote removal happens in one).
func docText(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		lit, ok := p.(*syntax.Lit)
		if !ok {
			return "", false
		}
		b.WriteString(lit.Value)
	}
	return b.String(), true
}

func (j *judge) awk(part string, args []arg, review func(string)) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case !a.static:
			review("awk is given " + a.why)
			return
		case a.text == "-f" || strings.HasPrefix(a.text, "--file"):
			review("awk runs a program file the judge cannot read")
			return
		case a.text == "-F" || a.text == "-v":
			i++
		case strings.HasPrefix(a.text, "-") && a.text != "-":
		default:
			if awkRunsCommands.MatchString(a.text) {
				review("awk program runs commands (system or a pipe)")
			}
			return
		}
	}
}

// find judges the command of each -exec, -execdir, -ok and -okdir.
func (j *judge) find(part string, args []arg, in input, depth int) {
	for i := 1; i < len(args); i++ {
		switch args[i].text {
		case "-exec", "-execdir", "-ok", "-okdir":
		default:
			continue
		}
		end := i + 1
		for end < len(args) && args[end].text != ";" && args[end].text != "+" {
			end++
		}
		j.inner(args[i+1:end], input{src: in.src}, depth)
		i = end
	}
}

// inner judges a command a wrapper runs, as if it had been written alone.
func (j *judge) inner(args []arg, in input, depth int) {
	j.simple(joinArgs(args), args, in, depth+1)
}

// wrapped finds and judges the command a wrapper runs. Every operand
// before it is also judged as a possible command, counting only rule
// matches: if the option table is wrong about an option taking a value,
// the real command is still judged.
func (j *judge) wrapped(prog string, w wrapper, part string, args []arg, in input, depth int, review func(string)) {
	start, shell := -1, false
	positionals := 0
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !a.static {
			review(prog + " is given " + a.why)
			return
		}
		t := a.text
		name, _, hasValue := strings.Cut(t, "=")
		switch {
		case t == "--":
			if i+1 < len(args) {
				start = i + 1 + w.positionals - positionals
			}
			i = len(args)
			continue
		case has(w.noRunOpts, t):
			return
		case has(w.codeOpts, name) && strings.HasPrefix(t, "-"):
			var code []arg
			if hasValue {
				code = []arg{{text: t[len(name)+1:], static: true}}
			} else if i+1 < len(args) {
				code = args[i+1 : i+2]
			}
			j.code(part, code, depth)
			review(prog + " " + name + " runs inline code")
			return
		case clusterCode(w.codeOpts, t) != "":
			// A short option in a cluster, or with its value attached:
			// script -qc 'rm x', env -S'rm x', su -c'rm x'.
			opt, value := clusterCode(w.codeOpts, t), ""
			if k := strings.IndexByte(t, opt[1]); k+1 < len(t) {
				value = t[k+1:]
			}
			code := []arg{{text: value, static: true}}
			if value == "" {
				code = args[i+1 : min(i+2, len(args))]
			}
			j.code(part, code, depth)
			review(prog + " " + opt + " runs inline code")
			return
		case has(w.shellOpts, t):
			shell = true
			continue
		case has(w.optArg, t):
			j.candidate(args[i+1:], in, depth)
			i++
			continue
		case strings.HasPrefix(t, "-") && len(t) > 1:
			continue
		case w.skipAssigns && strings.Contains(t, "=") && !strings.HasPrefix(t, "="):
			continue
		case positionals < w.positionals:
			j.candidate(args[i:], in, depth)
			positionals++
			continue
		}
		start = i
		break
	}
	if start < 0 || start >= len(args) {
		if shell || w.noCmdShell {
			review(prog + " starts a shell that reads code from its input")
		}
		return
	}
	rest := args[start:]
	if w.restIsCode || shell {
		review(prog + " runs its arguments as shell code")
		j.code(part, rest, depth)
		return
	}
	if w.fromStdin {
		rest = append(rest[:len(rest):len(rest)], arg{text: "…", why: "arguments read from input"})
	}
	j.inner(rest, input{src: in.src}, depth)
}

// maxCandidateArgs bounds the words a candidate command is matched with.
const maxCandidateArgs = 64

// candidate checks args as a command against the rules alone (no default,
// no unwrapping, so that the work stays linear in the line's length).
func (j *judge) candidate(args []arg, in input, depth int) {
	if len(args) == 0 || !args[0].static || strings.HasPrefix(args[0].text, "-") {
		return
	}
	args = args[:min(len(args), maxCandidateArgs)]
	texts := make([]string, len(args)-1)
	for i, a := range args[1:] {
		texts[i] = a.text
	}
	prog := programName(args[0].text)
	if r := j.cmds.Match(j.subj, prog, texts); r != nil {
		j.consider(Decision{Action: r.Action, Rule: r.Name, Reason: reasonFor(r.Action, prog), Part: joinArgs(args)})
	}
}

func joinArgs(args []arg) string {
	t := make([]string, len(args))
	for i, a := range args {
		t[i] = a.text
	}
	return strings.Join(t, " ")
}

// clusterCode returns the short code option (-S, -c) that the short-option
// cluster t holds ("-qc", "-crm x", "-S'...'"), or "".
func clusterCode(opts []string, t string) string {
	if len(t) < 3 || t[0] != '-' || t[1] == '-' {
		return ""
	}
	for _, o := range opts {
		if len(o) == 2 && strings.IndexByte(t[1:], o[1]) >= 0 {
			return o
		}
	}
	return ""
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
