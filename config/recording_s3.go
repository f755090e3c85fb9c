package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
)

// S3 ships recordings to S3-compatible object storage once they are on
// the local disk (README: Recording storage (S3)). Not set (no endpoint):
// recordings stay on this node.
type S3 struct {
	// Endpoint is the S3 API's host:port, without a scheme.
	Endpoint string `yaml:"endpoint"`
	// Bucket must exist; the bastion does not create it.
	Bucket string `yaml:"bucket"`
	// Region; empty lets the client ask the server.
	Region string `yaml:"region"`
	// AccessKeyFile and SecretKeyFile hold the credentials, one line each.
	// The secret key file must be private (mode 0600).
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKeyFile string `yaml:"secret_key_file"`
	// Prefix is put before every object key, e.g. "node-a/"; empty: none.
	Prefix string `yaml:"prefix"`
	// Insecure speaks plain HTTP instead of HTTPS; for a bucket on the
	// same host or a test only.
	Insecure bool `yaml:"insecure"`
}

// Enabled reports whether recordings are shipped.
func (s *S3) Enabled() bool { return *s != S3{} }

// Keys reads the access and secret keys from their files.
func (s *S3) Keys() (access, secret string, err error) {
	read := func(field, file string) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("recording.s3.%s: %w", field, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("recording.s3.%s: %s is empty", field, file)
		}
		return v, nil
	}
	if access, err = read("access_key_file", s.AccessKeyFile); err != nil {
		return "", "", err
	}
	if secret, err = read("secret_key_file", s.SecretKeyFile); err != nil {
		return "", "", err
	}
	return access, secret, nil
}

// bucketName follows S3's rules for bucket names: 3 to 63 lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c *Config) validateRecordingS3() error {
	s := &c.Recording.S3
	if !s.Enabled() {
		return nil
	}
	switch {
	case s.Endpoint == "":
		return invalid("recording.s3.endpoint", "missing (host:port of the S3 API)")
	case strings.Contains(s.Endpoint, "://"):
		return invalid("recording.s3.endpoint", "want host:port without a scheme, got %q (set insecure: true for plain HTTP)", s.Endpoint)
	}
	if _, _, err := net.SplitHostPort(s.Endpoint); err != nil {
		return invalid("recording.s3.endpoint", "want host:port, got %q", s.Endpoint)
	}
	if !bucketName.MatchString(s.Bucket) {
		return invalid("recording.s3.bucket", "%q is not a bucket name (3-63 lowercase letters, digits, '.' and '-')", s.Bucket)
	}
	if s.AccessKeyFile == "" {
		return invalid("recording.s3.access_key_file", "missing")
	}
	if s.SecretKeyFile == "" {
		return invalid("recording.s3.secret_key_file", "missing")
	}
	if strings.HasPrefix(s.Prefix, "/") || strings.Contains("/"+s.Prefix+"/", "/../") || strings.Contains("/"+s.Prefix+"/", "/./") {
		return invalid("recording.s3.prefix", "%q: want a relative key prefix such as node-a/, without '.' or '..' segments", s.Prefix)
	}
	return nil
}
