package shellhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Marker opens every request the hook writes: an OSC sequence (ECMA-48
// operating system command) with a number no terminal assigns, so that a
// terminal would ignore one that ever got through.
const Marker = "\x1b]7771;"

// NewNonce returns a fresh per-session nonce: 32 hex digits.
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Launch is the exec command that starts the guarded shell in place of the
// login shell: the target's login shell only has to run a POSIX
// "exec bash -c '...' ARG"; bash then reads the hook as its rcfile from a
// process substitution, so it is never written to the target's disk.
func Launch(nonce string) string {
	script := base64.StdEncoding.EncodeToString([]byte(Script(nonce)))
	return `exec bash -c 'exec bash --rcfile <(base64 -d <<<"$0") -i' ` + script
}

// Script is the rcfile of a guarded shell. It installs the hook, says
// hello, and only then reads the login files a login bash reads (so the
// user's prompt, aliases and settings are as without the guard): the
// user can write those files, so what they run is judged like anything
// typed; then it says ready. The hook:
//
//   - enters POSIX mode by assignment (which no function can shadow), so
//     that unset, a special builtin, is found before any function, and
//     removes functions named like the builtins it calls: a user function
//     called "read" or "builtin" cannot answer in its place;
//   - turns xtrace off while it runs (and back on after), so that the
//     challenge is never traced to the terminal or BASH_XTRACEFD;
//   - draws the challenge from SRANDOM and refuses when two draws agree
//     (SRANDOM unset and assigned a constant);
//   - writes the request as read's prompt: read turns echo off before it
//     prints the prompt, so the verdict is never echoed;
//   - reads lines from the terminal until one ends with its challenge
//     (keystrokes typed ahead end up before it), and then always hands
//     what it read before the verdict back to the bastion ("typed"),
//     which types it again before anything typed since; only a whole
//     line is a verdict: a read cut short by end of file (Ctrl-D typed
//     after a line's start) is not, whatever it ends with;
//   - needs the terminal in the foreground: with job control, a pipeline's
//     first command takes the terminal before bash runs the hook for the
//     next, whose read then fails; so the hook turns job control off
//     (set +m) each time (bash turns it back on after the rcfile);
//   - calls nothing a function could shadow once its checks passed, and
//     fails (skips the command) whenever a step fails.
func Script(nonce string) string {
	return strings.ReplaceAll(script, "@NONCE@", nonce)
}

const script = `__bastion_hook() {
  if [[ :$SHELLOPTS: == *:posix:* ]]; then __bastion_p=1; else __bastion_p=; fi
  POSIXLY_CORRECT=y
  __bastion_ok=
  __bastion_r=
  __bastion_x=
  if [[ :$SHELLOPTS: == *:posix:* ]] && unset -f builtin command read printf return set && set +m; then
    [[ $- == *x* ]] && __bastion_x=1
    set +x
    [[ $__bastion_p ]] || unset POSIXLY_CORRECT
    __bastion_c=$SRANDOM$SRANDOM
    __bastion_d=$SRANDOM$SRANDOM
    if [[ $__bastion_c != "$__bastion_d" && $__bastion_c =~ ^[0-9]+$ ]] &&
      IFS= read -rs -p $'\e]7771;@NONCE@;cmd;'"$__bastion_c;${BASH_COMMAND@Q}"$'\a' __bastion_r </dev/tty 2>/dev/tty; then
      __bastion_t=
      while [[ $__bastion_r != *"#$__bastion_c:"[01] ]]; do
        __bastion_t+=$__bastion_r$'\n'
        IFS= read -rs __bastion_r </dev/tty 2>/dev/tty || { __bastion_t+=$__bastion_r; __bastion_r=; break; }
      done
      __bastion_t+=${__bastion_r%"#$__bastion_c:"[01]}
      [[ $__bastion_r == *"#$__bastion_c:1" ]] && __bastion_ok=1
      printf '\e]7771;@NONCE@;typed;%s\a' "${__bastion_t@Q}" >/dev/tty
    fi
  fi
  [[ $__bastion_x ]] && set -x
  [[ $__bastion_ok ]]
}
readonly -f __bastion_hook
shopt -s extdebug
set -o functrace
printf '\e]7771;@NONCE@;hello\a' >/dev/tty
trap __bastion_hook DEBUG
if [ -r /etc/profile ]; then . /etc/profile; fi
if [ -r ~/.bash_profile ]; then . ~/.bash_profile
elif [ -r ~/.bash_login ]; then . ~/.bash_login
elif [ -r ~/.profile ]; then . ~/.profile
fi
printf '\e]7771;@NONCE@;ready\a' >/dev/tty
`

// Verdict is the line the bastion injects into the input to answer the
// request with challenge: run or skip. It starts with "#" so that, should
// it ever reach a prompt instead of the hook, bash reads a comment.
func Verdict(challenge string, run bool) []byte {
	v := "0"
	if run {
		v = "1"
	}
	return []byte("#" + challenge + ":" + v + "\n")
}
