package shipping

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// lostAudited waits for the failure event of a recording gone before it
// was shipped, and checks nothing said it was shipped.
func (e *env) lostAudited(t *testing.T) {
	t.Helper()
	eventually(t, "the attempt is audited", func() bool { return len(e.events(EventShipFailed)) > 0 })
	if ev := e.events(EventShipFailed)[0]; ev.Reason != ReasonLocal || !strings.Contains(ev.Detail["error"].(string), "never shipped whole") {
		t.Errorf("failure event %+v", ev)
	}
	if got := e.events(EventShipped); len(got) != 0 {
		t.Errorf("a recording removed before shipping was audited as shipped: %+v", got)
	}
}

// A recording whose local file is removed after a checkpoint shipped part
// of it is not reported shipped at its close: the bucket holds only the
// checkpoint's part, and the manifest that would show it stays here.
func TestAttackRecordingRemovedAfterCheckpoint(t *testing.T) {
	e := newEnv(t)
	s, _ := e.start(e.store)
	w, path := e.record(s, "s1")
	eventually(t, "the checkpoint reaches the bucket", func() bool {
		ok, _ := e.bucket.exists(context.Background(), e.bucket.Key("2026/11/30/s1.checkpoints"))
		return ok && len(s.Pending()) == 0
	})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	closeRecording(t, s, w, path)
	e.lostAudited(t)
	exist(t, recorder.ManifestPath(path))
}

// A closed recording removed whole before it was shipped is a failure at
// every attempt, not a silent success with nothing to ship.
func TestAttackRecordingRemovedBeforeShipping(t *testing.T) {
	e := newEnv(t)
	w, path := e.record(nil, "s1")
	closeRecording(t, nil, w, path)
	for _, p := range []string{path, recorder.CheckpointsPath(path), recorder.ManifestPath(path)} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := e.start(e.store)
	s.Closed(path)
	e.lostAudited(t)
	if got := s.Pending(); len(got) != 1 {
		t.Errorf("pending %q: the lost recording should stay on the list", got)
	}
}

// Another recording renamed into a closed one's place is not shipped
// under its name, nor removed as if it were it: its size and name are
// not those the manifest left in place describes.
func TestAttackRecordingRenamedIntoPlace(t *testing.T) {
	e := newEnv(t)
	w1, path1 := e.record(nil, "s1")
	closeRecording(t, nil, w1, path1)
	w2, path2 := e.record(nil, "s22")
	closeRecording(t, nil, w2, path2)
	if err := os.Rename(path2, path1); err != nil {
		t.Fatal(err)
	}
	s, _ := e.start(e.store)
	s.Closed(path1)
	// s22, whose files are left behind without its recording, is reported
	// lost (Recover finds it); s1 is refused.
	failed := func(id string) []store.Event {
		var out []store.Event
		for _, ev := range e.events(EventShipFailed) {
			if ev.SessionID == id {
				out = append(out, ev)
			}
		}
		return out
	}
	eventually(t, "both attempts are audited", func() bool { return len(failed("s1")) > 0 && len(failed("s22")) > 0 })
	if ev := failed("s1")[0]; ev.Reason != ReasonLocal || !strings.Contains(ev.Detail["error"].(string), "not the recording its manifest describes") {
		t.Errorf("s1's failure event %+v", ev)
	}
	if ev := failed("s22")[0]; !strings.Contains(ev.Detail["error"].(string), "never shipped whole") {
		t.Errorf("s22's failure event %+v", ev)
	}
	if got := e.events(EventShipped); len(got) != 0 {
		t.Errorf("audited as shipped: %+v", got)
	}
	if ok, _ := e.bucket.exists(context.Background(), e.bucket.Key("2026/11/30/s1.cast")); ok {
		t.Error("another recording was uploaded under s1's name")
	}
	exist(t, path1, recorder.ManifestPath(path1))
}
