package main

import (
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

// Audit events with a position in the recording become playback markers;
// masking records say how many values of which kinds, never the values.
func TestAuditMarkers(t *testing.T) {
	d := newTestData(t)
	d.session(t, "s1", true)
	at, ev := 1.5, int64(1)
	if err := d.st.Audit(t.Context(), store.Event{Type: "masking.applied", Outcome: store.OutcomeInfo, SessionID: "s1",
		RecTime: &at, RecEvent: &ev, Detail: map[string]any{"findings": []map[string]any{
			{"recognizer": "ssn", "fingerprint": "ab"}, {"recognizer": "email", "fingerprint": "cd"}, {"recognizer": "ssn"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.st.Audit(t.Context(), store.Event{Type: "session.start", Outcome: store.OutcomeAllowed, SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	data := d.dir
	ms, err := auditMarkers(t.Context(), dataFlags{data: &data, config: new(string)}, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Time != 1.5 || ms[0].Code != "m" || ms[0].Data != "masking.applied: 3 values masked (email, ssn)" {
		t.Errorf("markers = %+v", ms)
	}
}
