package shipping

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	"github.com/bastion-ssh/bastion/recorder"
)

// Fetch copies a shipped recording (rel: its .cast path relative to the
// recording directory) with its checkpoints and manifest from the bucket
// into dir, under their own names, and returns the path of the copied
// recording. Missing checkpoints or manifest are left missing, for the
// verifier to judge; a missing recording is ErrNotInBucket.
func (b *Bucket) Fetch(ctx context.Context, rel, dir string) (string, error) {
	rel = path.Clean("/" + rel)[1:]
	cast := filepath.Join(dir, path.Base(rel))
	for i, local := range []string{cast, recorder.CheckpointsPath(cast), recorder.ManifestPath(cast)} {
		key := b.Key(path.Join(path.Dir(rel), filepath.Base(local)))
		err := b.download(ctx, key, local)
		switch {
		case err == nil:
		case errors.Is(err, ErrNotInBucket) && i > 0:
		default:
			return "", fmt.Errorf("shipping: fetch from bucket %s: %w", b.name, err)
		}
	}
	return cast, nil
}
