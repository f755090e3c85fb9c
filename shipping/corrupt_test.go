package shipping

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/internal/s3test"
	"github.com/bastion-ssh/bastion/recorder"
)

// corruptingProxy stands in for a faulty or hostile store (or the path to
// it): it forwards to the real server but flips one bit of every object
// read back.
func corruptingProxy(t *testing.T, target string) string {
	t.Helper()
	u, _ := url.Parse("http://" + target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method != http.MethodGet || r.StatusCode != http.StatusOK || strings.Count(strings.Trim(r.Request.URL.Path, "/"), "/") == 0 {
			return nil // not an object read
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body.Close()
		if len(body) > 0 {
			body[len(body)/2] ^= 1
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				r.Header.Del(k)
			}
		}
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// An object that reads back different from what was sent is never taken
// for shipped: the local files stay, and each attempt is audited as a
// mismatch.
func TestReadBackMismatchKeepsLocalCopy(t *testing.T) {
	e := newEnv(t)
	b, err := OpenBucket(BucketConfig{Endpoint: corruptingProxy(t, e.s3.Addr), Bucket: "recordings", Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	e.bucket = b
	w, path := e.record(nil, "s1")
	closeRecording(t, nil, w, path)
	e.start(e.store)
	eventually(t, "mismatches are audited", func() bool { return len(e.events(EventShipFailed)) >= 2 })
	for _, ev := range e.events(EventShipFailed) {
		if ev.Reason != ReasonMismatch {
			t.Errorf("failure event %+v, want reason %q", ev, ReasonMismatch)
		}
	}
	exist(t, path, recorder.CheckpointsPath(path), recorder.ManifestPath(path))
	if n := len(e.events(EventShipped)); n != 0 {
		t.Errorf("%d shipped events for a recording that never read back intact", n)
	}
	if got := e.metric("bastion_recording_uploads_total", "failed"); got < 2 {
		t.Errorf("failed uploads = %v", got)
	}
}

// refusingProxy stands in for a node that dies between two uploads: it
// forwards to the real server but refuses every upload of a recording
// (.cast), as if the process had ended before sending it.
func refusingProxy(t *testing.T, target string) string {
	t.Helper()
	u, _ := url.Parse("http://" + target)
	p := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".cast") {
			http.Error(w, "refused by the test", http.StatusForbidden)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// A checkpoint's upload that stops after one object never leaves the
// bucket with checkpoints covering more than the recording beside them:
// the recording goes first, so its failure leaves no checkpoints either.
func TestCheckpointsNeverAheadOfTheRecording(t *testing.T) {
	e := newEnv(t)
	b, err := OpenBucket(BucketConfig{Endpoint: refusingProxy(t, e.s3.Addr), Bucket: "recordings", Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Prefix: "node-a/", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	e.bucket = b
	s, _ := e.start(e.store)
	e.record(s, "s1")
	eventually(t, "the refused upload is audited", func() bool { return len(e.events(EventShipFailed)) >= 1 })
	if ok, err := b.exists(t.Context(), b.Key("2026/11/30/s1.checkpoints")); err != nil || ok {
		t.Errorf("checkpoints in the bucket without their recording (%v, %v)", ok, err)
	}
}
