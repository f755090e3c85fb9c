package shipping

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
)

// A checkpoint ships the recording as it stands, which verifies up to the
// checkpoint, and keeps the local copy; the close ships the rest and only
// then removes the local files.
func TestShipCheckpointThenClose(t *testing.T) {
	e := newEnv(t)
	s, _ := e.start(e.store)
	w, path := e.record(s, "s1")

	eventually(t, "the checkpoint reaches the bucket", func() bool {
		ok, _ := e.bucket.exists(context.Background(), e.bucket.Key("2026/11/30/s1.checkpoints"))
		return ok && len(s.Pending()) == 0
	})
	res, err := e.fetchAndVerify("s1")
	if !errors.Is(err, recorder.ErrIncomplete) || res.Verified != 2 {
		t.Fatalf("bucket copy while open: %v, verified %d events; want incomplete, verified up to the checkpoint (2)", err, res.Verified)
	}
	exist(t, path, recorder.CheckpointsPath(path))

	closeRecording(t, s, w, path)
	eventually(t, "the local copy is removed", func() bool { return len(e.localFiles()) == 0 })
	res, err = e.fetchAndVerify("s1")
	if err != nil || !res.Complete || !res.Signed {
		t.Fatalf("bucket copy after close: %v %+v", err, res)
	}
	shipped := e.events(EventShipped)
	if len(shipped) != 1 || shipped[0].SessionID != "s1" {
		t.Fatalf("shipped events: %+v", shipped)
	}
	if got := e.metric("bastion_recordings_shipped_total"); got != 1 {
		t.Errorf("bastion_recordings_shipped_total = %v", got)
	}
	if got := e.metric("bastion_recording_uploads_total", "verified"); got < 5 {
		t.Errorf("verified uploads = %v, want at least 5 (2 at the checkpoint, 3 at close)", got)
	}
}

// The fault test: the bucket goes down, sessions close meanwhile, the
// bastion restarts while the bucket is still down, then the bucket comes
// back. Every recording ends up in the bucket, verified; no local file is
// removed while the bucket is down; each failed attempt is audited and
// counted.
func TestBucketDownThenBack(t *testing.T) {
	e := newEnv(t)
	s, stop := e.start(e.store)
	w, path := e.record(s, "before")
	closeRecording(t, s, w, path)
	eventually(t, "the first recording is shipped", func() bool { return len(e.localFiles()) == 0 })

	e.s3.Stop()
	var paths []string
	for _, id := range []string{"down-1", "down-2", "down-3"} {
		w, path := e.record(s, id)
		closeRecording(t, s, w, path)
		paths = append(paths, path)
	}
	eventually(t, "failed attempts are audited and counted", func() bool {
		return len(e.events(EventShipFailed)) >= 3 && e.metric("bastion_recording_ship_failures_total") >= 3
	})
	if n := e.metric("bastion_recordings_unshipped"); n != 3 {
		t.Errorf("bastion_recordings_unshipped = %v while the bucket is down, want 3", n)
	}
	for _, ev := range e.events(EventShipFailed) {
		if ev.Reason != ReasonUpload || ev.Detail["attempt"] == nil {
			t.Errorf("failure event %+v: want reason %q and the attempt number", ev, ReasonUpload)
		}
	}
	for _, p := range paths {
		exist(t, p, recorder.CheckpointsPath(p), recorder.ManifestPath(p))
	}

	// The bastion restarts; its new shipper finds the work on disk.
	stop()
	s2, _ := e.start(e.store)
	if got := s2.Pending(); len(got) != 3 {
		t.Fatalf("after restart, pending %q; want the three recordings closed while the bucket was down", got)
	}
	for _, p := range paths {
		exist(t, p, recorder.CheckpointsPath(p), recorder.ManifestPath(p))
	}

	e.s3.Start()
	eventually(t, "the backlog is shipped once the bucket is back", func() bool {
		return len(e.localFiles()) == 0 && len(s2.Pending()) == 0
	})
	for _, id := range []string{"before", "down-1", "down-2", "down-3"} {
		if res, err := e.fetchAndVerify(id); err != nil || !res.Complete {
			t.Errorf("%s in the bucket: %v %+v", id, err, res)
		}
	}
	var ids []string
	for _, ev := range e.events(EventShipped) {
		ids = append(ids, ev.SessionID)
	}
	slices.Sort(ids)
	if want := []string{"before", "down-1", "down-2", "down-3"}; !slices.Equal(ids, want) {
		t.Errorf("shipped events for %q, want %q", ids, want)
	}
}

// A session cut off by a crash (no manifest) is shipped at the next start
// as it stands and verifies up to its last checkpoint.
func TestCrashedRecordingShippedAtStart(t *testing.T) {
	e := newEnv(t)
	e.record(nil, "crashed") // never closed: the process died
	s, _ := e.start(e.store)
	if got := s.Pending(); !slices.Equal(got, []string{"2026/11/30/crashed.cast"}) {
		t.Fatalf("pending %q", got)
	}
	eventually(t, "the crashed recording is shipped", func() bool { return len(e.localFiles()) == 0 })
	res, err := e.fetchAndVerify("crashed")
	if !errors.Is(err, recorder.ErrIncomplete) || res.Verified != 2 || res.Events != 3 {
		t.Fatalf("bucket copy: %v %+v; want incomplete, 3 events, verified up to 2", err, res)
	}
}

// What cannot be audited does not happen: with the audit trail failing,
// recordings are uploaded but never removed locally.
func TestNoRemovalWithoutAudit(t *testing.T) {
	e := newEnv(t)
	w, path := e.record(nil, "s1")
	closeRecording(t, nil, w, path)
	s, _ := e.start(failingAuditor{})
	eventually(t, "attempts fail for want of an audit record", func() bool {
		return e.metric("bastion_recording_ship_failures_total") >= 2
	})
	exist(t, path, recorder.CheckpointsPath(path), recorder.ManifestPath(path))
	if len(s.Pending()) != 1 {
		t.Errorf("pending %q", s.Pending())
	}
}

// Someone who can write the recording directory plants a symlink named
// like a recording, pointing at a secret. It is neither uploaded nor
// removed, and the attempt is audited.
func TestSymlinkNotShipped(t *testing.T) {
	e := newEnv(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	day := filepath.Join(e.dir, "2026", "11", "30")
	if err := os.MkdirAll(day, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(day, "evil.cast")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	s, _ := e.start(e.store)
	s.Closed(link)
	eventually(t, "the attempt is audited", func() bool { return len(e.events(EventShipFailed)) > 0 })
	if ev := e.events(EventShipFailed)[0]; ev.Reason != ReasonLocal || !strings.Contains(ev.Detail["error"].(string), "not a regular file") {
		t.Errorf("failure event %+v", ev)
	}
	if ok, _ := e.bucket.exists(context.Background(), e.bucket.Key("2026/11/30/evil.cast")); ok {
		t.Error("the symlink's target was uploaded")
	}
	exist(t, link, secret)
}

// A bastion that died between removing a shipped recording and removing
// its manifest finds the manifest at the next start, verifies it in the
// bucket and removes it; the bucket copy still verifies.
func TestInterruptedRemovalFinished(t *testing.T) {
	e := newEnv(t)
	s, stop := e.start(e.store)
	w, path := e.record(s, "s1")
	closeRecording(t, s, w, path)
	eventually(t, "shipped", func() bool { return len(e.localFiles()) == 0 })
	stop()
	fetched, err := e.bucket.Fetch(context.Background(), "2026/11/30/s1.cast", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(recorder.ManifestPath(fetched))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recorder.ManifestPath(path), manifest, 0o600); err != nil {
		t.Fatal(err)
	}

	s2, _ := e.start(e.store)
	if got := s2.Pending(); !slices.Equal(got, []string{"2026/11/30/s1.cast"}) {
		t.Fatalf("pending %q", got)
	}
	eventually(t, "the leftover manifest is removed", func() bool { return len(e.localFiles()) == 0 })
	if res, err := e.fetchAndVerify("s1"); err != nil || !res.Complete {
		t.Errorf("bucket copy: %v %+v", err, res)
	}
}

// Recordings backed off while the bucket was unreachable do not sit out
// their backoff once another upload shows it is back.
func TestBucketBackWakesBackoff(t *testing.T) {
	e := newEnv(t)
	e.s3.Stop()
	s, _ := e.startBackoff(e.store, time.Hour, time.Hour)
	w, path := e.record(nil, "waiting")
	closeRecording(t, s, w, path)
	eventually(t, "the first attempt fails", func() bool { return len(e.events(EventShipFailed)) == 1 })

	e.s3.Start()
	w, path = e.record(nil, "new")
	closeRecording(t, s, w, path) // a new recording is tried at once, and succeeds
	eventually(t, "both are shipped well before the hour's backoff", func() bool { return len(e.localFiles()) == 0 })
}

// A recording larger than a part goes up in several parts and still
// reads back identical.
func TestShipMultipart(t *testing.T) {
	e := newEnv(t)
	s, _ := e.start(e.store)
	w, path := e.record(s, "big")
	line := []byte(strings.Repeat("0123456789abcdef", 4096) + "\r\n") // 64 KiB
	for range (2*partSize)/len(line) + 1 {
		if err := w.Output(line); err != nil {
			t.Fatal(err)
		}
	}
	closeRecording(t, s, w, path)
	eventually(t, "shipped", func() bool { return len(e.localFiles()) == 0 })
	res, err := e.fetchAndVerify("big")
	if err != nil || !res.Complete || res.Bytes <= 2*partSize {
		t.Fatalf("bucket copy: %v %+v", err, res)
	}
}

// Two bastions given the same recording directory would take each
// other's open recordings for crashed ones: the second does not start.
func TestSecondShipperOnDirRefused(t *testing.T) {
	e := newEnv(t)
	e.start(e.store)
	other, err := New(Config{Bucket: e.bucket, Dir: e.dir, Audit: e.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Recover(); !errors.Is(err, ErrDirInUse) {
		t.Fatalf("second shipper on %s: %v, want ErrDirInUse", e.dir, err)
	}
}
