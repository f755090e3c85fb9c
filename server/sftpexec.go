package server

import (
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// An sftp server can be started with an exec request as well as with the
// sftp subsystem: `sftp -s /usr/lib/openssh/sftp-server` sends its path as
// a command. Such an exec is served as the subsystem, so the file rules,
// the sftp.* auditing and the well-formedness checks cannot be stepped
// around by naming the server instead of the subsystem.

// sftpServerNames are the commands that start an sftp server on an
// OpenSSH target, matched on the first word's base name.
var sftpServerNames = map[string]bool{"sftp-server": true, "internal-sftp": true}

// sftpExec reports whether command starts an sftp server, and if so
// whether it is plain enough to be served as the subsystem: the server's
// name first, then words of letters, digits and _ . / = : , + - only.
// Anything else (a ;, a $(), a quote, a wrapper such as `exec` or `env`
// before the name) is not what an sftp client sends, and is refused.
func sftpExec(command string) (isSFTP, plain bool) {
	// Quotes and backslashes do not hide a name from the target's shell;
	// words end at blanks and at shell syntax (`sftp-server;id`).
	unquoted := strings.Map(func(r rune) rune {
		if r == '\'' || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, command)
	words := strings.FieldsFunc(unquoted, func(r rune) bool {
		return strings.ContainsRune(" \t\n\r;&|<>()$`={}", r)
	})
	named := -1
	for i, w := range words {
		if sftpServerNames[path.Base(w)] {
			named = i
			break
		}
	}
	if named < 0 {
		return false, false
	}
	if named > 0 {
		return true, false
	}
	for _, r := range command {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _./=:,+-", r):
		default:
			return true, false
		}
	}
	return true, true
}

// asSFTPSubsystem turns an exec request for an sftp server into the sftp
// subsystem request the target is sent instead. The server's arguments
// are not passed on: the target's own Subsystem line decides how its sftp
// server runs, as it does for `sftp` without -s.
func asSFTPSubsystem(req *ssh.Request) {
	req.Type = "subsystem"
	req.Payload = ssh.Marshal(subsystemRequest{Name: "sftp"})
}
