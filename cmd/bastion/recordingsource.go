package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/shipping"
)

// recordingSource opens recordings where they are: on this node's disk,
// or, once shipped and removed locally, in the bucket.
type recordingSource struct {
	dir    string           // the local recording directory
	bucket *shipping.Bucket // nil: recordings are only local
	tmp    string           // copies fetched from the bucket; "" until the first
}

// newRecordingSource returns the source for the config file: local only
// when there is none, or it does not ship recordings.
func newRecordingSource(configFile string) (*recordingSource, error) {
	if configFile == "" {
		return &recordingSource{}, nil
	}
	cfg, err := config.Load(configFile)
	if err != nil {
		return nil, err
	}
	bucket, err := openBucket(cfg)
	return &recordingSource{dir: cfg.RecordingDir(), bucket: bucket}, err
}

// ships reports whether recordings are shipped to a bucket.
func (s *recordingSource) ships() bool { return s != nil && s.bucket != nil }

// open returns a path to read the recording at castPath from: castPath
// itself while it is on disk, else a copy of the shipped one (fromBucket).
// A recording in neither place is fs.ErrNotExist. A nil source is local
// only.
func (s *recordingSource) open(ctx context.Context, castPath string) (path string, fromBucket bool, err error) {
	if _, err := os.Lstat(castPath); err == nil || !errors.Is(err, fs.ErrNotExist) || !s.ships() {
		return castPath, false, nil // the reader reports what is wrong with it
	}
	rel, err := filepath.Rel(s.dir, castPath)
	if err != nil || !inside(s.dir, castPath) {
		return castPath, false, nil
	}
	if s.tmp == "" {
		if s.tmp, err = os.MkdirTemp("", "bastion-recording-*"); err != nil {
			return "", false, err
		}
	}
	dst, err := os.MkdirTemp(s.tmp, "r")
	if err != nil {
		return "", false, err
	}
	path, err = s.bucket.Fetch(ctx, filepath.ToSlash(rel), dst)
	if errors.Is(err, shipping.ErrNotInBucket) {
		return "", false, fmt.Errorf("%s: not on disk, nor in bucket %s: %w", castPath, s.bucket.Name(), fs.ErrNotExist)
	}
	return path, err == nil, err
}

// close removes the copies fetched from the bucket.
func (s *recordingSource) close() {
	if s != nil && s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}
