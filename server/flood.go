package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// Flood resistance. Before authentication a client is nobody, and what it
// does must not cost unbounded evidence: failures are aggregated per
// source, per kind and per minute, and each source has a bounded number of
// connections open at once.
//
// Audit rows per minute: for each (source, event type, reason code) the
// first failure is written in full at once and the rest are counted into
// one "preauth.failures" row when the minute ends, so one source costs at
// most 2 rows per reason code per minute (preauthReasonCodes). At most
// preauthMaxKeys keys are tracked per minute; failures past that are
// counted in one overflow row.

const (
	// DefaultMaxConnsPerSource is Config.MaxConnsPerSource's default.
	DefaultMaxConnsPerSource = 64
	// preauthWindow is the aggregation period.
	preauthWindow = time.Minute
	// preauthMaxKeys bounds the distinct (source, type, reason) keys of
	// one window, and so the rows one window writes.
	preauthMaxKeys = 1024
)

// sourceLimiter counts open connections per source IP.
type sourceLimiter struct {
	max  int // <= 0: unlimited
	mu   sync.Mutex
	open map[string]int
}

func sourceIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func (l *sourceLimiter) acquire(addr string) bool {
	ip := sourceIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open[ip] >= l.max {
		return false
	}
	l.open[ip]++
	return true
}

func (l *sourceLimiter) release(addr string) {
	ip := sourceIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// preauthKey is what failures are aggregated by.
type preauthKey struct {
	source string // IP, without the port
	typ    string // audit event type
	reason string // a stable reason code
}

// preauthAggregator writes the first failure of each key in a window and
// counts the rest.
type preauthAggregator struct {
	audit func(context.Context, store.Event) error
	now   func() time.Time
	log   *slog.Logger

	mu     sync.Mutex // guards the fields below; not held while writing
	start  time.Time  // the current window's start
	counts map[preauthKey]int
}

// record takes one failure; ev is written in full if it is the first of its
// key in this window. The refusal it records stands either way.
func (a *preauthAggregator) record(ev store.Event, reason string) {
	key := preauthKey{source: sourceIP(ev.SourceAddr), typ: ev.Type, reason: reason}
	pending := a.roll()
	a.mu.Lock()
	if _, ok := a.counts[key]; !ok && len(a.counts) >= preauthMaxKeys {
		key = preauthKey{source: "*", typ: "*", reason: "overflow"}
	}
	n := a.counts[key]
	a.counts[key] = n + 1
	a.mu.Unlock()
	a.write(pending)
	if n == 0 && key.source != "*" {
		ev.Detail = withDetail(ev.Detail, "reason_code", reason)
		// Before authentication there is no request context; audit bounds
		// the write with its deadline.
		if err := a.audit(context.Background(), ev); err != nil {
			a.log.Error("pre-authentication failure not audited", "type", ev.Type, "err", err)
		}
	}
}

// count records a failure that has no more to say than its kind.
func (a *preauthAggregator) count(source, typ, reason string) {
	a.record(store.Event{Type: typ, Outcome: store.OutcomeDenied, SourceAddr: source, Reason: reason}, reason)
}

// roll closes the window if it has ended and returns its summary rows.
func (a *preauthAggregator) roll() []store.Event {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.start.IsZero() {
		a.start = now
	}
	if now.Sub(a.start) < preauthWindow {
		return nil
	}
	var out []store.Event
	for k, n := range a.counts {
		if k.source != "*" {
			n-- // the first was written in full
		}
		if n == 0 {
			continue
		}
		out = append(out, store.Event{Type: "preauth.failures", Outcome: store.OutcomeDenied, SourceAddr: k.source,
			Reason: k.reason, Detail: map[string]any{"type": k.typ, "reason_code": k.reason, "count": n,
				"from": a.start.UTC().Format(time.RFC3339), "until": now.UTC().Format(time.RFC3339)}})
	}
	a.start = now
	a.counts = map[preauthKey]int{}
	return out
}

// flush writes the summary of a window that has ended; called by the
// server's ticker so that a quiet minute still gets its counts written.
func (a *preauthAggregator) flush() { a.write(a.roll()) }

func (a *preauthAggregator) write(evs []store.Event) {
	for _, ev := range evs {
		if err := a.audit(context.Background(), ev); err != nil {
			a.log.Error("pre-authentication failure counts not audited", "source", ev.SourceAddr, "err", err)
		}
	}
}

func withDetail(d map[string]any, k string, v any) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d[k] = v
	return d
}

// handshakeReason classifies why a handshake failed, as a stable code.
func handshakeReason(err error) string {
	var authErr *ssh.ServerAuthError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrProxyHeaderUntrusted):
		return proxyReasonCode(err)
	case errors.As(err, &authErr):
		return "auth-failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	return "protocol"
}
