package evidence

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// chainLine is one line of audit/events.jsonl: an exported event in full,
// or only the digest of an event between exported ones, which is enough to
// follow the chain without showing the event.
type chainLine struct {
	Seq    int64             `json:"seq"`
	Digest string            `json:"digest,omitempty"`
	Event  *store.ChainEvent `json:"event,omitempty"`
}

// maxIndexEvents bounds the events index.html lists; all of them are in
// audit/events.jsonl.
const maxIndexEvents = 2000

// matches reports whether an audit event belongs in a bundle for f.
func (f Filter) matches(e store.ChainEvent) bool {
	at, err := time.Parse(time.RFC3339Nano, e.At)
	if err != nil {
		return false
	}
	return (f.Since.IsZero() || !at.Before(f.Since)) && (f.Until.IsZero() || !at.After(f.Until)) &&
		(f.Identity == "" || e.Identity == f.Identity) && (f.Target == "" || e.Target == f.Target) &&
		(f.Session == "" || e.SessionID == f.Session)
}

// exportAudit writes the audit events f matches, as a segment of the chain
// that reaches a signed checkpoint in the log, with that checkpoint's
// inclusion proof. It returns the first events, for index.html.
func exportAudit(ctx context.Context, b *bundleWriter, st *store.Store, f Filter, snap *recorder.LogSnapshot, sum *AuditSummary) ([]store.ChainEvent, error) {
	var first, last int64
	if err := st.ChainEvents(ctx, 1, 0, func(e store.ChainEvent) error {
		if e.Hash != "" && f.matches(e) {
			if first == 0 {
				first = e.Seq
			}
			last = e.Seq
		}
		return nil
	}); err != nil {
		return nil, err
	}
	cp := coveringCheckpoint(snap, first, last)
	end := last
	if cp != nil && cp.Seq > end {
		end = cp.Seq
	}
	sum.First, sum.Last = first, end
	if cp != nil {
		sum.Checkpoint = cp.Seq
	}
	spool, err := os.CreateTemp("", "bastion-evidence-*.jsonl")
	if err != nil {
		return nil, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	w := bufio.NewWriter(spool)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var shown []store.ChainEvent
	var prev string
	if first > 0 {
		err = st.ChainEvents(ctx, first, end, func(e store.ChainEvent) error {
			line := chainLine{Seq: e.Seq}
			if e.Seq == first || f.matches(e) {
				ev := e
				line.Event = &ev
				sum.Events++
				if cp != nil && e.Seq > cp.Seq {
					sum.Unanchored++
				}
				if len(shown) < maxIndexEvents {
					shown = append(shown, e)
				}
			} else {
				line.Digest = e.Digest()
			}
			if e.Seq != first && e.PrevHash != prev {
				sum.Note = fmt.Sprintf("the store's chain is broken at event %d", e.Seq)
			}
			prev = e.Hash
			if cp != nil && e.Seq == cp.Seq && e.Hash != cp.Hash {
				sum.Note = fmt.Sprintf("event %d differs from the signed checkpoint", e.Seq)
			}
			return enc.Encode(line)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := b.addFile("audit/events.jsonl", spool.Name()); err != nil {
		return nil, err
	}
	switch {
	case first == 0:
		sum.Note = ""
	case cp == nil:
		sum.Note = "no signed checkpoint covers these events yet: they are tied together by the chain only (export again after the next checkpoint)"
	case sum.Unanchored > 0 && sum.Note == "":
		sum.Note = fmt.Sprintf("%d events after the newest checkpoint (event %d) are not yet covered by a signed checkpoint", sum.Unanchored, cp.Seq)
	}
	if cp == nil {
		return shown, nil
	}
	p, err := snap.Prove(cp.Index)
	if err != nil {
		return nil, err
	}
	data, err := marshalIndent(p)
	if err != nil {
		return nil, err
	}
	return shown, b.addBytes("audit/checkpoint.json", data)
}

// coveringCheckpoint picks the checkpoint the segment of events first to
// last is tied to: the earliest at or after last, or else the latest
// within the segment; nil if there is none.
func coveringCheckpoint(snap *recorder.LogSnapshot, first, last int64) *recorder.LogEntry {
	var after, within *recorder.LogEntry
	for i := range snap.Entries {
		e := &snap.Entries[i]
		if e.Type != recorder.RecordAuditCheckpoint || first == 0 || e.Seq < first {
			continue
		}
		if e.Seq >= last && (after == nil || e.Seq < after.Seq) {
			after = e
		}
		if e.Seq < last && (within == nil || e.Seq > within.Seq) {
			within = e
		}
	}
	if after != nil {
		return after
	}
	return within
}
