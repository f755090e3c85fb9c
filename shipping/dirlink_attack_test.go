package shipping

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A directory of the recording tree replaced by a symlink to elsewhere
// (someone with write access to the recording directory) does not make
// the shipper upload the files it finds there, nor delete them.
func TestAttackSymlinkedDirNotShippedOrDeleted(t *testing.T) {
	e := newEnv(t)
	elsewhere := t.TempDir()
	secret := filepath.Join(elsewhere, "evil.cast")
	if err := os.WriteFile(secret, []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	month := filepath.Join(e.dir, "2026", "11")
	if err := os.MkdirAll(month, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(month, "30")); err != nil {
		t.Fatal(err)
	}
	s, _ := e.start(e.store)
	s.Closed(filepath.Join(month, "30", "evil.cast"))
	eventually(t, "the attempt is audited", func() bool { return len(e.events(EventShipFailed)) > 0 })
	if ev := e.events(EventShipFailed)[0]; ev.Reason != ReasonLocal {
		t.Errorf("failure event %+v", ev)
	}
	if ok, _ := e.bucket.exists(context.Background(), e.bucket.Key("2026/11/30/evil.cast")); ok {
		t.Error("a file outside the recording directory was uploaded")
	}
	exist(t, secret)
}
