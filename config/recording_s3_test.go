package config

import (
	"errors"
	"strings"
	"testing"
)

const s3Block = `recording:
  s3:
    endpoint: s3.internal:9000
    bucket: bastion-recordings
    region: eu-west-1
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: node-a/
`

func TestRecordingS3Parses(t *testing.T) {
	c, err := Parse([]byte(valid+s3Block), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Recording.S3
	if !s.Enabled() || s.Bucket != "bastion-recordings" || s.SecretKeyFile != "/etc/bastion/s3_secret" || s.Insecure {
		t.Errorf("parsed %+v", s)
	}
	found := false
	for _, f := range c.SecretFiles() {
		found = found || f.Field == "recording.s3.secret_key_file"
	}
	if !found {
		t.Error("the secret key file is not checked for permissions")
	}
	if c, _ := Parse([]byte(valid), "/etc/bastion"); c.Recording.S3.Enabled() {
		t.Error("shipping enabled without a recording.s3 block")
	}
}

func TestRecordingS3Rejects(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"no-endpoint", "    endpoint: s3.internal:9000\n", "", "recording.s3.endpoint: missing"},
		{"scheme", "s3.internal:9000", "https://s3.internal:9000", "without a scheme"},
		{"no-port", "s3.internal:9000", "s3.internal", "want host:port"},
		{"bad-bucket", "bucket: bastion-recordings", "bucket: Bastion_Recordings", "recording.s3.bucket"},
		{"no-bucket", "    bucket: bastion-recordings\n", "", "recording.s3.bucket"},
		{"no-access", "    access_key_file: s3_access\n", "", "recording.s3.access_key_file: missing"},
		{"no-secret", "    secret_key_file: s3_secret\n", "", "recording.s3.secret_key_file: missing"},
		{"absolute-prefix", "prefix: node-a/", "prefix: /node-a/", "recording.s3.prefix"},
		{"dotdot-prefix", "prefix: node-a/", "prefix: node-a/../node-b/", "recording.s3.prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(valid+strings.Replace(s3Block, tc.from, tc.to, 1)), "/etc/bastion")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
