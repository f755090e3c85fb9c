package server

import "testing"

func TestSFTPExec(t *testing.T) {
	for _, c := range []struct {
		cmd           string
		isSFTP, plain bool
	}{
		{"/usr/lib/openssh/sftp-server", true, true},
		{"internal-sftp", true, true},
		{"  sftp-server -l INFO -f AUTH", true, true},
		{"/usr/libexec/sftp-server -d /srv", true, true},
		{"sftp-server;id", true, false},
		{"/usr/lib/openssh/sftp-server && id", true, false},
		{"'/usr/lib/openssh/sftp-server'", true, false},
		{`s\ftp-server`, true, false},
		{"internal-sftp\nid", true, false},
		{"sftp-server $(id)", true, false},
		{"sftp", false, false},
		{"ls sftp-server", true, false},
		{"exec /usr/lib/openssh/sftp-server", true, false},
		{"env A=1 sftp-server", true, false},
		{"sh -c internal-sftp", true, false},
		{"ls /usr/lib/openssh", false, false},
		{"/usr/bin/sftp-server-helper", false, false},
		{"", false, false},
	} {
		isSFTP, plain := sftpExec(c.cmd)
		if isSFTP != c.isSFTP || plain != c.plain {
			t.Errorf("sftpExec(%q) = %v, %v; want %v, %v", c.cmd, isSFTP, plain, c.isSFTP, c.plain)
		}
	}
}

// A command served as the subsystem never carries shell syntax.
func FuzzSFTPExec(f *testing.F) {
	for _, s := range []string{"sftp-server", "internal-sftp -l", "sftp-server;id", "'sftp-server'", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		isSFTP, plain := sftpExec(cmd)
		if plain && !isSFTP {
			t.Fatalf("%q: plain but not sftp", cmd)
		}
		if plain {
			for _, r := range cmd {
				if r == ';' || r == '$' || r == '`' || r == '|' || r == '&' || r == '\n' || r == '\'' {
					t.Fatalf("%q served as sftp", cmd)
				}
			}
		}
	})
}
