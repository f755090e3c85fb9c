package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/shipping"
)

// openBucket returns the bucket recording.s3 names, or nil when
// recordings stay local.
func openBucket(cfg *config.Config) (*shipping.Bucket, error) {
	s := cfg.Recording.S3
	if !s.Enabled() {
		return nil, nil
	}
	access, secret, err := s.Keys()
	if err != nil {
		return nil, err
	}
	return shipping.OpenBucket(shipping.BucketConfig{Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region,
		AccessKey: access, SecretKey: secret, Prefix: s.Prefix, Insecure: s.Insecure})
}

// newRecordings returns the factory of session recordings: local files,
// which a shipper (nil when recording.s3 is not set) uploads at each
// checkpoint and at close. The recordings the last run left behind are
// queued first, before any new one is opened.
func newRecordings(cfg *config.Config, opts recorder.Options, audit shipping.Auditor, reg prometheus.Registerer,
	log *slog.Logger) (server.RecordingFactory, *shipping.Shipper, error) {
	bucket, err := openBucket(cfg)
	if err != nil || bucket == nil {
		return server.FileRecordings(cfg.RecordingDir(), opts), nil, err
	}
	sh, err := shipping.New(shipping.Config{Bucket: bucket, Dir: cfg.RecordingDir(), Audit: audit,
		Registerer: reg, Logger: log.With("component", "shipping")})
	if err != nil {
		return nil, nil, err
	}
	if err := sh.Recover(); err != nil {
		return nil, nil, err
	}
	opts.Checkpointed = sh.Checkpointed
	next := server.FileRecordings(cfg.RecordingDir(), opts)
	return func(h recorder.Header) (server.Recording, string, error) {
		rec, path, err := next(h)
		if err != nil {
			return nil, "", err
		}
		return &shippedRecording{Recording: rec, path: path, shipper: sh}, path, nil
	}, sh, nil
}

// shippedRecording queues its recording for shipping when it is closed,
// whether or not the close succeeded: without a manifest it ships as it
// stands, verifiable to its last checkpoint.
type shippedRecording struct {
	server.Recording
	path    string
	shipper *shipping.Shipper
}

func (r *shippedRecording) Close(exit recorder.ExitInfo) (recorder.Manifest, error) {
	m, err := r.Recording.Close(exit)
	r.shipper.Closed(r.path)
	return m, err
}
