package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// Where the session log lives follows the store. On PostgreSQL, the
// database every node shares holds it (recorder.SharedLog on the store's
// log tables): the cluster has one Merkle log, appended to under a lock
// that spans the nodes and signed with the key they share. On SQLite, a
// single node's, it stays the directory DATA/log (recorder.Log), as
// before: the files auditors and witnesses already hold heads of keep
// extending, and `make demo` is unchanged.

// sessionLog is the session log a running bastion appends to.
type sessionLog interface {
	server.SessionLog
	SetWitness(recorder.Witness) error
	Close() error
}

var (
	_ sessionLog = (*recorder.Log)(nil)
	_ sessionLog = (*recorder.SharedLog)(nil)
)

// sharedLog reports whether st holds the session log.
func sharedLog(st *store.Store) bool { return st.Backend() == store.BackendPostgres }

// openSessionLog opens the session log for st and the data directory,
// verifying it: a tampered log is refused. On PostgreSQL, a log this node
// kept in its data directory before is imported first (importDirLog).
func openSessionLog(ctx context.Context, st *store.Store, dataDir string, signer crypto.Signer) (sessionLog, error) {
	if !sharedLog(st) {
		return recorder.OpenLog(logDir(dataDir), signer)
	}
	l, err := recorder.OpenSharedLog(ctx, st, signer)
	if err != nil {
		return nil, err
	}
	if err := importDirLog(ctx, st, l, dataDir, signer.Public().(ed25519.PublicKey)); err != nil {
		return nil, err
	}
	return l, nil
}

// importedLogDir is where a node's own session log goes once its records
// are in the store's: kept, so that heads saved from it can still be
// checked against it.
func importedLogDir(dataDir string) string { return logDir(dataDir) + ".imported" }

// importDirLog enters the records of DATA_DIR/log, the log a node kept
// before the nodes shared one, in the store's log, in order, each unless
// the store's log holds it already (so an import cut short is finished by
// the next start), then renames the directory to DATA_DIR/log.imported.
// The directory log is verified first: a tampered one stops the start.
func importDirLog(ctx context.Context, st *store.Store, l *recorder.SharedLog, dataDir string, pub ed25519.PublicKey) error {
	dir := logDir(dataDir)
	if _, err := os.Stat(filepath.Join(dir, "head")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	entries, err := recorder.ReadLog(dir, pub)
	if err != nil {
		return fmt.Errorf("the session log this node kept in %s, to be imported: %w", dir, err)
	}
	snap, err := recorder.SnapshotShared(ctx, st, pub)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(snap.Entries))
	for _, e := range snap.Entries {
		have[string(e.Raw)] = true
	}
	for _, e := range entries {
		if have[string(e.Raw)] {
			continue
		}
		if _, err := l.Append(e.Raw); err != nil {
			return fmt.Errorf("importing %s: %w", dir, err)
		}
	}
	if err := os.Rename(dir, importedLogDir(dataDir)); err != nil {
		return fmt.Errorf("importing %s: %w", dir, err)
	}
	return nil
}

// snapshotSessionLog verifies the session log for st and the data
// directory against its signed head and returns it.
func snapshotSessionLog(ctx context.Context, st *store.Store, dataDir string, pub ed25519.PublicKey) (*recorder.LogSnapshot, error) {
	if sharedLog(st) {
		return recorder.SnapshotShared(ctx, st, pub)
	}
	return recorder.SnapshotLog(logDir(dataDir), pub)
}

// checkExtends checks that the session log extends oldHead, a signed head
// saved outside the data directory and the database.
func checkExtends(ctx context.Context, st *store.Store, dataDir string, pub ed25519.PublicKey, oldHead []byte) error {
	if !sharedLog(st) {
		_, _, err := recorder.CheckExtends(logDir(dataDir), pub, oldHead)
		return err
	}
	snap, err := recorder.SnapshotShared(ctx, st, pub)
	if err != nil {
		return err
	}
	_, _, err = extendedShared(snap, dataDir, pub, oldHead)
	return err
}

// extendedShared checks that the store's log, or failing that the log
// this node kept before it (DATA_DIR/log.imported), extends oldHead.
func extendedShared(snap *recorder.LogSnapshot, dataDir string, pub ed25519.PublicKey, oldHead []byte) (old, cur tlog.Tree, err error) {
	old, err = snap.CheckExtends(oldHead, pub)
	if err == nil {
		return old, snap.Tree, nil
	}
	if _, serr := os.Stat(importedLogDir(dataDir)); serr != nil {
		return old, snap.Tree, err
	}
	iold, icur, ierr := recorder.CheckExtends(importedLogDir(dataDir), pub, oldHead)
	if ierr != nil {
		return old, snap.Tree, err
	}
	// The imported log vouches for the head; the store's log must still
	// hold every record of it, or the import was rolled back.
	entries, ierr := recorder.ReadLog(importedLogDir(dataDir), pub)
	if ierr != nil {
		return old, snap.Tree, ierr
	}
	have := make(map[string]bool, len(snap.Entries))
	for _, e := range snap.Entries {
		have[string(e.Raw)] = true
	}
	for _, e := range entries {
		if !have[string(e.Raw)] {
			return iold, icur, fmt.Errorf("%w: record %d of %s, which the saved head covers, is not in the shared log",
				recorder.ErrRollback, e.Index, importedLogDir(dataDir))
		}
	}
	return iold, icur, nil
}

// savedHeadExtended checks that the session log extends a head saved
// outside it and returns the saved and the current tree. snap is the
// store's log as verify read it (nil when it did not verify); the
// directory log is read again, which also judges a log with no head left.
func savedHeadExtended(in verifyInput, st *store.Store, snap *recorder.LogSnapshot, head []byte) (old, cur tlog.Tree, err error) {
	if !sharedLog(st) {
		return recorder.CheckExtends(logDir(in.dataDir), in.pub, head)
	}
	if snap == nil {
		return old, cur, errors.New("not compared: the session log does not verify")
	}
	return extendedShared(snap, in.dataDir, in.pub, head)
}
