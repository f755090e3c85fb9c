package e2e

import (
	"crypto/rand"
	"database/sql"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floodRowBound is the most audit rows a flood of failed handshakes from one
// source may leave within one minute window: 2 (the first failure in full,
// then one count) for each of the 4 handshake reason codes (closed,
// timeout, protocol, auth-failed) and for connection.limited. A flood
// that straddles a minute boundary spans two windows.
const floodRowBound = 2 * 2 * 5

// 50 clients sending junk for a few seconds cost a bounded number of audit
// rows, and a legitimate login works meanwhile.
func TestJunkFloodIsAggregated(t *testing.T) {
	g := newGateway(t)
	var attempts atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			junk := make([]byte, 600)
			for n := 0; n < 200; n++ { // bounded, whatever the machine's speed
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", g.addr, 2*time.Second)
				if err != nil {
					continue
				}
				attempts.Add(1)
				rand.Read(junk)
				if i%2 == 0 {
					copy(junk, "SSH-2.0-junk\r\n") // a version line, then a broken key exchange
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				c.Write(junk)
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				c.Close()
			}
		}(i)
	}
	// Legitimate logins during the flood.
	for i := 0; i < 3; i++ {
		r := g.ssh(t, g.alice, "root@target", "echo legit")
		if r.code != 0 || !strings.Contains(r.stdout, "legit") {
			t.Errorf("login during the flood: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
	}
	close(stop)
	wg.Wait()
	if attempts.Load() < 100 {
		t.Fatalf("only %d junk connections made", attempts.Load())
	}

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(g.dir, "bastion.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	err = db.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE type IN ('connection.failed', 'connection.limited', 'preauth.failures')`).Scan(&rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d junk connections, %d audit rows", attempts.Load(), rows)
	if rows == 0 || rows > floodRowBound {
		t.Errorf("%d audit rows for %d junk connections; want 1..%d", rows, attempts.Load(), floodRowBound)
	}
}

// One source holds at most limits.max_conns_per_source connections at
// once; the next is closed before its handshake and counted.
func TestConnectionLimitPerSource(t *testing.T) {
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: testPolicy, limits: "  max_conns_per_source: 2\n"})
	for i := 0; i < 2; i++ {
		startMaster(t, g, g.alice)
	}
	if r := g.ssh(t, g.alice, "root@target", "echo third"); r.code == 0 {
		t.Errorf("a third connection was served: %q", r.stdout)
	}
	g.waitAudit(t, "connection.limited", "limit")
}
