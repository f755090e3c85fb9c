package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/bastion-ssh/bastion/replay"
	"github.com/bastion-ssh/bastion/store"
)

// auditMarkers turns a session's audit events that carry a position in its
// recording (masking records, command decisions, approvals) into markers,
// so that playback shows them where they happened.
func auditMarkers(ctx context.Context, df dataFlags, sessionID string) ([]replay.Event, error) {
	st, err := df.openStore()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	evs, err := st.Events(ctx, store.EventFilter{SessionID: sessionID})
	if err != nil {
		return nil, err
	}
	var out []replay.Event
	for _, e := range evs {
		if e.RecTime == nil {
			continue
		}
		out = append(out, replay.Event{Time: *e.RecTime, Code: "m", Data: markerLabel(e)})
	}
	return out, nil
}

// markerLabel describes an audit event in a few words: what, the outcome,
// and for masking records how many values of which kinds (never the values).
func markerLabel(e store.Event) string {
	if findings, ok := e.Detail["findings"].([]any); ok {
		kinds := map[string]bool{}
		for _, f := range findings {
			if m, ok := f.(map[string]any); ok {
				if k, ok := m["recognizer"].(string); ok {
					kinds[k] = true
				}
			}
		}
		names := make([]string, 0, len(kinds))
		for k := range kinds {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Sprintf("%s: %d values masked (%s)", e.Type, len(findings), strings.Join(names, ", "))
	}
	label := e.Type + " " + e.Outcome
	if e.Reason != "" {
		label += ": " + e.Reason
	}
	return label
}
