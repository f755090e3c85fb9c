package cmdjudge

import "strings"

// runOpts names options whose value a program runs as a command, outside
// any shell syntax the judge parses: scp -S rm, rsync -e 'rm x', tar
// --to-command. The value is judged as a command line, and the whole is
// reviewed unless a rule names the program.
var runOpts = map[string][]string{
	"scp":   {"-S"},
	"sftp":  {"-S"},
	"rsync": {"-e", "--rsh", "--rsync-path"},
	"tar":   {"--to-command", "--checkpoint-action", "--use-compress-program", "-I", "--info-script", "--new-volume-script", "-F"},
	"git":   {"-c", "--config-env", "--exec-path"},
}

// sshFamily reads ssh_config options (-o) and files (-F), some of which
// run local commands.
var sshFamily = map[string]bool{"ssh": true, "scp": true, "sftp": true}

// sshRunKeys are the ssh_config keywords whose value runs a local command.
var sshRunKeys = []string{"proxycommand", "localcommand", "knownhostscommand", "match", "permitlocalcommand"}

// shellStarters start a shell, or run commands from their own arguments
// or configuration, with nothing the judge can read: an exec of one of
// them is an unjudged shell.
var shellStarters = map[string]bool{
	"newgrp": true, "screen": true, "tmux": true, "byobu": true, "dtach": true, "abduco": true,
	"systemd-run": true, "machinectl": true,
}

// runOptions judges the options of prog that run commands.
func (j *judge) runOptions(prog, part string, args []arg, depth int, review func(string)) {
	if shellStarters[prog] {
		review(prog + " starts a shell or runs commands the judge cannot read")
	}
	if prog == "script" && !scriptCommand(args) {
		// Its operand is the typescript file: without -c it runs a shell.
		review("script without -c starts a shell")
	}
	if prog == "socat" {
		for _, a := range args[1:] {
			if l := strings.ToLower(a.text); strings.Contains(l, "exec:") || strings.Contains(l, "system:") {
				review("socat runs a command (" + a.text + ")")
			}
		}
	}
	opts := runOpts[prog]
	if prog == "rsync" && hasArg(args, "--server") {
		// The receiving end of a transfer: there -e carries protocol
		// flags ("-e.iLsfxC"), not a command.
		opts = nil
	}
	for i := 1; i < len(args); i++ {
		t := args[i].text
		if t == "--" {
			return
		}
		if !strings.HasPrefix(t, "-") {
			continue
		}
		value, next := "", ""
		if i+1 < len(args) {
			next = args[i+1].text
		}
		for _, o := range opts {
			switch {
			case t == o:
				value = next
			case strings.HasPrefix(t, o+"="):
				value = t[len(o)+1:]
			case len(o) == 2 && !strings.HasPrefix(t, "--") && strings.HasPrefix(t, o) && len(t) > 2:
				value = t[2:] // -Srm
			default:
				continue
			}
			review(prog + " " + o + " runs a command")
			if value != "" {
				j.code(part, []arg{{text: value, static: true}}, depth)
			}
		}
		if !sshFamily[prog] {
			continue
		}
		switch {
		case t == "-F" || strings.HasPrefix(t, "-F") && len(t) > 2 && !strings.HasPrefix(t, "--"):
			review(prog + " -F reads a configuration that may run commands")
		case t == "-o" || strings.HasPrefix(t, "-o") && !strings.HasPrefix(t, "--"):
			opt := strings.TrimPrefix(t, "-o")
			if opt == "" {
				opt = next
			}
			key := strings.ToLower(strings.TrimSpace(strings.FieldsFunc(opt+" ", func(r rune) bool { return r == '=' || r == ' ' || r == '\t' })[0]))
			for _, k := range sshRunKeys {
				if key == k {
					review(prog + " -o " + k + " runs a local command")
				}
			}
		}
	}
}

func hasArg(args []arg, s string) bool {
	for _, a := range args {
		if a.text == s {
			return true
		}
	}
	return false
}

// scriptCommand reports whether script is given a command (-c, --command).
func scriptCommand(args []arg) bool {
	for _, a := range args[1:] {
		t := a.text
		if t == "--command" || strings.HasPrefix(t, "--command=") || clusterCode([]string{"-c"}, t) != "" || t == "-c" {
			return true
		}
	}
	return false
}
