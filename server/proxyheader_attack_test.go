package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// An untrusted peer's version 1 header, sent a byte at a time, is refused
// like a version 2 one: the check waits for the whole signature rather
// than deciding on the first read, and a text header is a header.
func TestAttackSplitV1HeaderFromUntrustedPeerRefused(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("192.0.2.1/32"))
	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // the test's own bound against hanging
	go func() {
		for _, by := range []byte("PROXY TCP4 203.0.113.9 10.0.0.1 4711 22\r\nSSH-2.0-OpenSSH_9.6\r\n") {
			if _, err := c.Write([]byte{by}); err != nil {
				return
			}
		}
	}()
	io.Copy(io.Discard, c) // the banner, then the close
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.failed")) > 0 })
	// Split finely enough, the header may not be recognised as one before
	// the handshake fails on it: either way the connection is refused,
	// and what is recorded names the real peer, never the header's claim.
	got := b.failureCodes()
	if len(got) != 1 || (got[0] != "proxy-header-untrusted from 127.0.0.1" && got[0] != "protocol from 127.0.0.1") {
		t.Errorf("connection.failed = %q, want one refusal from the real peer", got)
	}
	b.store.mu.Lock()
	events := append([]store.Event(nil), b.store.events...)
	b.store.mu.Unlock()
	for _, e := range events {
		if e.SourceAddr != "" && !strings.HasPrefix(e.SourceAddr, "127.0.0.1") {
			t.Errorf("%s event names source %q, the header's claim", e.Type, e.SourceAddr)
		}
	}
}
