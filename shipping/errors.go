package shipping

import "errors"

var (
	// ErrMismatch: the object read back after an upload differs from the
	// bytes sent. The local copy is kept and the upload retried.
	ErrMismatch = errors.New("shipping: object in the bucket differs from the local file")
	// ErrNotInBucket: the bucket has no object under the key asked for.
	ErrNotInBucket = errors.New("shipping: not in the bucket")
)
