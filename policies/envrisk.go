package policies

import (
	"fmt"
	"path"
	"strings"
)

// Environment variables a client sets with an SSH env request reach the
// target's shell, but not the command judge: the judge reads the command
// line alone. These names change what a judged line runs (which program a
// name finds, code a shell or loader runs first, how words split), so
// where commands are judged they are never passed on.

// commandEnvNames are the exact names.
var commandEnvNames = map[string]bool{
	"PATH": true, "BASH_ENV": true, "ENV": true, "PS4": true, "PROMPT_COMMAND": true,
	"SHELLOPTS": true, "BASHOPTS": true, "IFS": true, "CDPATH": true, "GLOBIGNORE": true,
	"HOME": true, "ZDOTDIR": true, "SHELL": true, "EXECIGNORE": true, "PS0": true, "PS1": true,
	"PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true, "PYTHONPATH": true, "PYTHONSTARTUP": true,
	"PYTHONHOME": true, "RUBYOPT": true, "RUBYLIB": true, "NODE_OPTIONS": true, "NODE_PATH": true,
	"PAGER": true, "MANPAGER": true, "EDITOR": true, "VISUAL": true, "LESSOPEN": true,
	"LESSCLOSE": true, "SYSTEMD_PAGER": true, "PSQLRC": true, "TMPDIR": true,
}

// commandEnvPrefixes are families: the dynamic loader's LD_*, exported
// bash functions (BASH_FUNC_name%%), git's GIT_* (GIT_SSH_COMMAND,
// GIT_CONFIG_*).
var commandEnvPrefixes = []string{"LD_", "BASH_FUNC_", "GIT_"}

// commandEnvProbes are names of each family an env_allow pattern is tried
// against, with every exact name.
var commandEnvProbes = []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_FUNC_ls%%",
	"BASH_FUNC_cat()", "GIT_SSH_COMMAND", "GIT_CONFIG_PARAMETERS", "GIT_EXEC_PATH"}

// EnvChangesCommand reports whether name is a variable that can change
// what a command line runs.
func EnvChangesCommand(name string) bool {
	if commandEnvNames[name] {
		return true
	}
	for _, p := range commandEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// checkCommandEnv refuses an env_allow that admits such a variable when
// command rules are configured: the judge would approve one command and
// the target run another.
func (p *Policy) checkCommandEnv() error {
	if !p.Commands.Configured() {
		return nil
	}
	for _, pat := range p.EnvAllow {
		if EnvChangesCommand(pat) {
			return fmt.Errorf("%w: env_allow: %q can change what a judged command runs; not allowed with command rules", ErrInvalid, pat)
		}
		for name := range commandEnvNames {
			if ok, _ := path.Match(pat, name); ok {
				return fmt.Errorf("%w: env_allow: %q admits %s, which can change what a judged command runs; not allowed with command rules", ErrInvalid, pat, name)
			}
		}
		for _, name := range commandEnvProbes {
			if ok, _ := path.Match(pat, name); ok {
				return fmt.Errorf("%w: env_allow: %q admits %s, which can change what a judged command runs; not allowed with command rules", ErrInvalid, pat, name)
			}
		}
	}
	return nil
}
