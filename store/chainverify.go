package store

import (
	"context"
	"fmt"
	"sort"
)

// ChainReport is what VerifyChain established about the audit chain.
type ChainReport struct {
	Start       int64 // sequence number of the chain's start event; 0 if none was found
	Unchained   int64 // events before the start (written before the chain began)
	Chained     int64 // events from the start on
	Last        int64 // sequence number of the newest event
	Checkpoints int   // signed checkpoints that matched
	// FirstBad is the sequence number of the first event found wrong, or 0.
	FirstBad int64
	// Problems name each thing found wrong, in the order of the trail.
	Problems []string
	// Unanchored counts the events after the newest checkpoint: only the
	// chain protects them until the next one.
	Unanchored int64
}

// OK reports whether nothing was found wrong.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// maxChainProblems bounds the problems listed: after the first few, the
// rest of a broken chain says nothing new.
const maxChainProblems = 20

func (r *ChainReport) bad(seq int64, format string, args ...any) {
	if r.FirstBad == 0 || (seq > 0 && seq < r.FirstBad) {
		r.FirstBad = seq
	}
	switch n := len(r.Problems); {
	case n < maxChainProblems:
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	case n == maxChainProblems:
		r.Problems = append(r.Problems, "(further problems not listed)")
	}
}

// VerifyChain checks the audit chain: every event's hash against its
// content, every link to the event before, contiguous sequence numbers
// from the start on, and the chain against the signed checkpoints given
// (from the session log). A database rebuilt without the signing key, or
// whose newest events were removed, matches its own hashes but not the
// checkpoints; events after the newest checkpoint are protected by the
// chain alone.
func (s *Store) VerifyChain(ctx context.Context, checkpoints []ChainHead) (ChainReport, error) {
	var r ChainReport
	cps := append([]ChainHead(nil), checkpoints...)
	sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	bySeq := make(map[int64]ChainHead, len(cps))
	for _, c := range cps {
		bySeq[c.Seq] = c
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return r, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var prev *storedEvent
	lastGoodCheckpoint := int64(0)
	for rows.Next() {
		se, err := scanEvent(rows)
		if err != nil {
			return r, err
		}
		r.Last = se.Seq
		switch {
		case r.Start == 0 && se.hash == "":
			r.Unchained++
		case r.Start == 0 && se.Type == ChainStartType && se.prevHash == "":
			r.Start, r.Chained = se.Seq, 1
			if chainHash(se, "") != se.hash {
				r.bad(se.Seq, "audit event %d (the chain start) was modified: its content does not match its hash", se.Seq)
			}
		case r.Start == 0:
			r.bad(se.Seq, "audit event %d is chained but no chain start precedes it (events before it deleted?)", se.Seq)
			r.Start, r.Chained = se.Seq, 1
		default:
			r.Chained++
			switch {
			case se.Seq != prev.Seq+1:
				r.bad(prev.Seq+1, "audit events %d to %d were deleted (the sequence jumps from %d to %d)",
					prev.Seq+1, se.Seq-1, prev.Seq, se.Seq)
			case se.hash == "":
				r.bad(se.Seq, "audit event %d carries no chain hash (inserted or blanked)", se.Seq)
			case chainHash(se, se.prevHash) != se.hash:
				r.bad(se.Seq, "audit event %d was modified or moved: its content does not match its hash", se.Seq)
			case se.prevHash != prev.hash:
				r.bad(se.Seq, "audit event %d does not follow event %d: events were reordered, inserted or removed there",
					se.Seq, prev.Seq)
			}
		}
		if c, ok := bySeq[se.Seq]; ok {
			switch {
			case c.Hash != se.hash:
				from := lastGoodCheckpoint + 1
				if r.FirstBad != 0 {
					from = r.FirstBad // a specific event was named already
				}
				r.bad(from, "audit events %d to %d differ from the signed checkpoint at event %d: they were rewritten",
					lastGoodCheckpoint+1, se.Seq, se.Seq)
			case c.Start != r.Start:
				r.bad(se.Seq, "the audit chain starts at event %d, the signed checkpoint at event %d says %d", r.Start, se.Seq, c.Start)
			default:
				r.Checkpoints++
				lastGoodCheckpoint = se.Seq
			}
		}
		cur := se
		prev = &cur
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("store: %w", err)
	}
	if r.Start == 0 {
		r.bad(1, "the audit chain has no start event")
	}
	if n := len(cps); n > 0 && cps[n-1].Seq > r.Last {
		r.bad(r.Last+1, "audit events %d to %d were deleted: the trail ends at event %d, a signed checkpoint covers event %d",
			r.Last+1, cps[n-1].Seq, r.Last, cps[n-1].Seq)
	}
	r.Unanchored = r.Last - lastGoodCheckpoint
	return r, nil
}
