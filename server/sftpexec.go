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
// whether it is plain enough to be served as the subsystem: words of
// letters, digits and _ . / = : , + - only. Anything else (a ;, a $(),
// a quote) is shell syntax no sftp client sends, and is refused.
func sftpExec(command string) (isSFTP, plain bool) {
	// The first word ends at a blank or at shell syntax (`sftp-server;id`).
	lead := strings.TrimLeft(command, " \t\n")
	if i := strings.IndexAny(lead, " \t\n;&|<>()$`"); i >= 0 {
		lead = lead[:i]
	}
	// Quotes and backslashes do not hide the name from the target's shell.
	first := strings.Map(func(r rune) rune {
		if r == '\'' || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, lead)
	if !sftpServerNames[path.Base(first)] {
		return false, false
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
