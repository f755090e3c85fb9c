package recorder

import (
	"os"
	"testing"
	"time"
)

// Checkpointed is told of each checkpoint once it is on disk, and not of
// a checkpoint that had nothing new to cover.
func TestCheckpointedHook(t *testing.T) {
	var calls []string
	var sizes []int64
	w, path, _ := newTestWriter(t, Options{CheckpointEvery: time.Hour, Checkpointed: func(p string) {
		calls = append(calls, p)
		st, err := os.Stat(CheckpointsPath(p))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, st.Size())
	}})
	if err := w.Output([]byte("one\r\n")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second has nothing new: no checkpoint, no call
		if err := w.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	if len(calls) != 1 || calls[0] != path || sizes[0] == 0 {
		t.Fatalf("Checkpointed calls %q with checkpoints file sizes %v; want one call for %s after the line was written", calls, sizes, path)
	}
}
