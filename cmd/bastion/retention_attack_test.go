package main

import (
	"os"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/config"
)

// A legal hold written with a session id prefix (the connection id that
// starts every session id on it, or the short form every other command
// accepts) keeps those sessions: a hold that matches too much is safe, one
// that silently matches nothing deletes evidence under hold.
func TestRetentionAttackHoldByPrefix(t *testing.T) {
	d := newTestData(t)
	d.t0 = time.Now().Add(-10 * 24 * time.Hour)
	held := d.session(t, "3f2a9c01d4e5b6a7-1", true)
	held2 := d.session(t, "3f2a9c01d4e5b6a7-2", true)
	other := d.session(t, "0badc0de00000000-1", true)
	r := config.Retention{KeepDays: 5, Holds: []config.Hold{{Session: "3f2a9c01d4e5b6a7", Reason: "case 2026-17"}}}
	res, err := applyRetention(t.Context(), d.st, r, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{held.Recording, held2.Recording} {
		if _, err := os.Stat(s); err != nil {
			t.Errorf("a recording under legal hold was deleted: %v (%+v)", err, res)
		}
	}
	if _, err := os.Stat(other.Recording); !os.IsNotExist(err) {
		t.Errorf("the unheld recording is still there: %v", err)
	}
}
