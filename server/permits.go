package server

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// permits are the permit-* extensions of the certificate that
// authenticated a connection. The bastion honours them as sshd does
// (sshd(8), AUTHORIZED_KEYS FILE FORMAT; ssh-keygen(1) -O): what the
// certificate does not permit is refused and audited, whatever the policy
// says. The policy can only narrow further.
type permits struct {
	pty, portForwarding, agentForwarding, x11Forwarding, userRC bool
}

// Certificate extension names (OpenSSH PROTOCOL.certkeys).
const (
	extPermitPTY             = "permit-pty"
	extPermitPortForwarding  = "permit-port-forwarding"
	extPermitAgentForwarding = "permit-agent-forwarding"
	extPermitX11Forwarding   = "permit-X11-forwarding"
	extPermitUserRC          = "permit-user-rc"
)

func permitsOf(cert *ssh.Certificate) permits {
	if cert == nil {
		return permits{}
	}
	has := func(name string) bool { _, ok := cert.Extensions[name]; return ok }
	return permits{
		pty:             has(extPermitPTY),
		portForwarding:  has(extPermitPortForwarding),
		agentForwarding: has(extPermitAgentForwarding),
		x11Forwarding:   has(extPermitX11Forwarding),
		userRC:          has(extPermitUserRC),
	}
}

// String lists the permitted extensions, for the audit record.
func (p permits) String() string {
	var out []string
	for _, e := range []struct {
		on   bool
		name string
	}{{p.pty, extPermitPTY}, {p.portForwarding, extPermitPortForwarding}, {p.agentForwarding, extPermitAgentForwarding},
		{p.x11Forwarding, extPermitX11Forwarding}, {p.userRC, extPermitUserRC}} {
		if e.on {
			out = append(out, e.name)
		}
	}
	return strings.Join(out, ",")
}
