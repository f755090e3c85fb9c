package recorder

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Checkpoint flushes the recording to stable storage and appends a signed
// checkpoint of its current state to the checkpoints file, so that a session
// that never closes can still be verified up to here. It does nothing when
// checkpoints are off or nothing was written since the last one. The writer
// also calls it every Options.CheckpointEvery; a caller may add checkpoints
// at moments that matter, such as an approved command.
//
// A failed checkpoint fails the writer: the error is returned by every later
// call, as for a failed write.
func (w *Writer) Checkpoint() error {
	w.cpMu.Lock()
	defer w.cpMu.Unlock()
	w.mu.Lock()
	if err := w.usableLocked(); err != nil || w.cp == nil || w.events == w.cpEvents {
		w.mu.Unlock()
		return err
	}
	c := Checkpoint{
		SessionID: w.sessionID,
		File:      w.name,
		Events:    w.events,
		Bytes:     w.size,
		Chain:     hex.EncodeToString(w.chain[:]),
		Time:      w.clock(),
		Key:       w.key,
	}
	f := w.f
	w.mu.Unlock()

	// Outputs may continue meanwhile: they only add lines after the ones
	// this checkpoint covers. Close cannot run, as it takes cpMu first.
	if err := f.Sync(); err != nil {
		return w.fail(fmt.Errorf("recorder: sync %s: %w", w.path, err))
	}
	s := c.stored()
	if w.signer != nil {
		sig, err := signCanonical(w.signer, s.signed())
		if err != nil {
			return w.fail(err)
		}
		s.Signature = sig
	}
	line := append(s.encode(), '\n')
	if _, err := w.cp.Write(line); err != nil {
		return w.fail(fmt.Errorf("recorder: checkpoint %s: %w", CheckpointsPath(w.path), err))
	}
	if err := w.cp.Sync(); err != nil {
		return w.fail(fmt.Errorf("recorder: checkpoint %s: %w", CheckpointsPath(w.path), err))
	}
	w.cpEvents = c.Events
	if w.onCP != nil {
		w.onCP(w.path)
	}
	return nil
}

// fail records err as the writer's failure unless one is recorded already,
// and returns the recorded failure.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// checkpointLoop writes a checkpoint every interval until stopCheckpoints.
// A failure is kept by the writer and returned by its next call.
func (w *Writer) checkpointLoop(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Checkpoint()
		}
	}
}

// stopCheckpoints ends checkpointLoop and waits for it.
func (w *Writer) stopCheckpoints() {
	if w.stop == nil {
		return
	}
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}
