package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// A thousand failures of one kind from one source in a minute cost two
// rows: the first in full, then one with the count of the rest. Distinct
// keys are bounded too.
func TestPreauthAggregation(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	var rows []store.Event
	a := &preauthAggregator{
		audit: func(_ context.Context, e store.Event) error {
			mu.Lock()
			defer mu.Unlock()
			rows = append(rows, e)
			return nil
		},
		now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler), counts: map[preauthKey]int{},
	}
	for i := 0; i < 1000; i++ {
		a.count(fmt.Sprintf("192.0.2.1:%d", 1000+i), "connection.failed", "protocol")
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows within the minute, want 1", len(rows))
	}
	now = now.Add(preauthWindow)
	a.flush()
	if len(rows) != 2 || rows[1].Type != "preauth.failures" || rows[1].Detail["count"] != 999 {
		t.Fatalf("summary = %+v", rows[1:])
	}
	// Past preauthMaxKeys distinct sources, the rest share one overflow key.
	rows = nil
	for i := 0; i < 3*preauthMaxKeys; i++ {
		a.count(fmt.Sprintf("10.%d.%d.%d:22", i>>16&255, i>>8&255, i&255), "connection.failed", "closed")
	}
	now = now.Add(preauthWindow)
	a.flush()
	if len(rows) > 2*preauthMaxKeys+1 {
		t.Errorf("%d rows for %d sources, want at most %d", len(rows), 3*preauthMaxKeys, 2*preauthMaxKeys+1)
	}
}

func TestSourceLimit(t *testing.T) {
	l := &sourceLimiter{max: 2, open: map[string]int{}}
	if !l.acquire("192.0.2.1:1") || !l.acquire("192.0.2.1:2") {
		t.Fatal("under the limit refused")
	}
	if l.acquire("192.0.2.1:3") {
		t.Error("third connection from one source accepted")
	}
	if !l.acquire("192.0.2.2:1") {
		t.Error("another source refused")
	}
	l.release("192.0.2.1:1")
	if !l.acquire("192.0.2.1:4") {
		t.Error("released slot not reusable")
	}
}
