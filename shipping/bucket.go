package shipping

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// partSize is the size of the parts of a multipart upload, which the
// client buffers in memory: it bounds an upload's memory (times
// Config.Workers for the shipper), S3's minimum being 5 MiB.
const partSize = 8 << 20

// requestTimeout bounds one request to the bucket (a whole upload or read
// back of one file). Recordings are at most a few hundred MiB; a transfer
// that takes longer than this is treated as failed and retried.
const requestTimeout = 10 * time.Minute

// BucketConfig says where recordings go. It mirrors the recording.s3 config.
type BucketConfig struct {
	Endpoint  string // host:port of the S3 API
	Bucket    string
	Region    string // empty: the server's default
	AccessKey string
	SecretKey string
	Prefix    string // prepended to every object key, e.g. "node-a/"; may be empty
	Insecure  bool   // plain HTTP instead of HTTPS
}

// A Bucket is the object store recordings are shipped to. Keys are the
// recording's path relative to the local recording directory, with
// forward slashes, after the prefix.
type Bucket struct {
	client *minio.Client
	name   string
	prefix string
}

// OpenBucket returns a client for cfg. It does not contact the server:
// a bucket that is down at start is the same as one that goes down later
// (recordings wait locally).
func OpenBucket(cfg BucketConfig) (*Bucket, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("shipping: endpoint and bucket are required")
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
		// The shipper retries with its own backoff, forever; the client's
		// ten quick retries would only hide an outage from the metrics.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("shipping: %w", err)
	}
	return &Bucket{client: c, name: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// Key returns the object key of a recording file, given its path relative
// to the recording directory.
func (b *Bucket) Key(rel string) string {
	return b.prefix + path.Clean("/" + rel)[1:]
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// uploaded is what one verified upload put in the bucket.
type uploaded struct {
	Key    string
	Bytes  int64
	SHA256 string // hex
}

// upload puts the first size bytes of f under key, then reads the object
// back and compares its SHA-256 with that of the bytes sent. Only a nil
// error means the bucket holds exactly those bytes.
func (b *Bucket) upload(ctx context.Context, f io.ReaderAt, key string, size int64) (uploaded, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	sent := sha256.New()
	body := io.TeeReader(io.NewSectionReader(f, 0, size), sent)
	if _, err := b.client.PutObject(ctx, b.name, key, body, size, minio.PutObjectOptions{
		ContentType: contentType(key),
		PartSize:    partSize,
		NumThreads:  1,
	}); err != nil {
		return uploaded{}, fmt.Errorf("upload %s: %w", key, err)
	}
	want := hex.EncodeToString(sent.Sum(nil))
	got, n, err := b.hash(ctx, key)
	if err != nil {
		return uploaded{}, fmt.Errorf("read back %s: %w", key, err)
	}
	if got != want || n != size {
		return uploaded{}, fmt.Errorf("%w: %s holds %d bytes with SHA-256 %s, sent %d bytes with %s",
			ErrMismatch, key, n, got, size, want)
	}
	return uploaded{Key: key, Bytes: size, SHA256: want}, nil
}

// hash reads the object at key and returns its SHA-256 and size.
func (b *Bucket) hash(ctx context.Context, key string) (string, int64, error) {
	obj, err := b.client.GetObject(ctx, b.name, key, minio.GetObjectOptions{})
	if err != nil {
		return "", 0, err
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// download copies the object at key to the new file dst. It returns
// ErrNotInBucket when there is no such object.
func (b *Bucket) download(ctx context.Context, key, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	obj, err := b.client.GetObject(ctx, b.name, key, minio.GetObjectOptions{})
	if err != nil {
		return classify(key, err)
	}
	defer obj.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, obj)
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		os.Remove(dst)
		return classify(key, err)
	}
	return nil
}

// exists reports whether an object is at key.
func (b *Bucket) exists(ctx context.Context, key string) (bool, error) {
	_, err := b.size(ctx, key)
	if errors.Is(err, ErrNotInBucket) {
		return false, nil
	}
	return err == nil, err
}

// size returns the size of the object at key, or ErrNotInBucket.
func (b *Bucket) size(ctx context.Context, key string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	info, err := b.client.StatObject(ctx, b.name, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, classify(key, err)
	}
	return info.Size, nil
}

// classify maps "no such object" to ErrNotInBucket, by the S3 error code
// or the HTTP status of a HEAD request (which has no body to carry a code).
func classify(key string, err error) error {
	if err == nil {
		return nil
	}
	r := minio.ToErrorResponse(err)
	if r.Code == minio.NoSuchKey || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket {
		return fmt.Errorf("%w: %s", ErrNotInBucket, key)
	}
	return fmt.Errorf("%s: %w", key, err)
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".cast":
		return "application/x-asciicast"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}
