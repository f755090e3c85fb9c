// Package shellhook is the shell side of a guarded interactive shell: the
// bash hook the bastion starts the target's shell with, and the protocol
// it speaks over the session's terminal.
//
// The hook is a DEBUG trap (with extdebug and functrace, so it runs
// before every simple command, in functions, subshells and command
// substitutions too, and a non-zero return skips the command). For each
// command it writes BASH_COMMAND, quoted, inside a private escape
// sequence carrying the session's nonce and a fresh random challenge, and
// reads the verdict from the terminal:
//
//	hook -> bastion  ESC ] 7771 ; NONCE ; hello BEL   (installed; the login files run next)
//	hook -> bastion  ESC ] 7771 ; NONCE ; ready BEL   (the login files ran)
//	hook -> bastion  ESC ] 7771 ; NONCE ; cmd ; CHALLENGE ; QUOTED BEL
//	bastion -> hook  # CHALLENGE : 1 LF   (run)   or   # CHALLENGE : 0 LF   (skip)
//	hook -> bastion  ESC ] 7771 ; NONCE ; typed ; QUOTED BEL   (after each verdict)
//
// The bastion strips the requests from the output (Scanner) before
// anything else sees it, and injects the verdict into the input while it
// holds the user's own keystrokes back. The user cannot forge a verdict:
// the challenge is drawn when the command is about to run and is never
// shown, and from the moment the bastion reads it no keystroke reaches the
// target until the verdict did. Keystrokes typed ahead of a command (while
// the previous one ran) reach the hook's read before the verdict; it hands
// them back ("typed") and the bastion types them again, so none is lost.
//
// Tampers names the commands that would switch the hook off or blind it
// (trap, set +T, shopt -u extdebug, unset BASH_COMMAND, a new shell); the
// bastion denies them in a guarded shell.
package shellhook
