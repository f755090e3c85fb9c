package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"

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
// verifying it: a tampered log is refused.
func openSessionLog(ctx context.Context, st *store.Store, dataDir string, signer crypto.Signer) (sessionLog, error) {
	if sharedLog(st) {
		return recorder.OpenSharedLog(ctx, st, signer)
	}
	return recorder.OpenLog(logDir(dataDir), signer)
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
	_, err = snap.CheckExtends(oldHead, pub)
	return err
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
	old, err = snap.CheckExtends(head, in.pub)
	return old, snap.Tree, err
}
