package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// shipWait bounds how long, after the last session ended, the recordings
// may take to reach the bucket. On loopback they take seconds; a bucket
// that refuses them is retried with backoff, and this says so in time.
const shipWait = 3 * time.Minute

// memory is each node's resident set, in the order of c.nodes.
func (c *benchCluster) memory() ([]int64, error) {
	out := make([]int64, len(c.nodes))
	for i, n := range c.nodes {
		v, err := statusBytes(n.srv.pid, "VmRSS")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		out[i] = v
	}
	return out, nil
}

// clusterRows waits until every session has an ended row in the shared
// store (read through the first node), then checks that each names the
// node that ran it and exit status 0. It notes each session's id.
func (b *bench) clusterRows(ctx context.Context, c *benchCluster, sessions []*clusterSession) error {
	byCommand := map[string]*clusterSession{}
	for _, s := range sessions {
		byCommand[s.command()] = s
	}
	for {
		out, err := c.nodes[0].run(ctx, b.e.bin, "sessions", "list", "--json", "--limit", fmt.Sprint(len(sessions)+100))
		if err != nil {
			return err
		}
		var rows []sessionRow
		if err := json.Unmarshal(out, &rows); err != nil {
			return fmt.Errorf("sessions list: %w", err)
		}
		ended := 0
		for _, r := range rows {
			s := byCommand[r.Command]
			if s == nil || r.EndedAt == nil {
				continue
			}
			if r.Node != s.node.name || r.ExitStatus == nil || *r.ExitStatus != 0 {
				return fmt.Errorf("session %d ran on %s; its row says node %q, exit %v", s.i, s.node.name, r.Node, exitText(r.ExitStatus))
			}
			s.id = r.ID
			ended++
		}
		if ended == len(sessions) {
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d sessions have an ended row: %w", ended, len(sessions), err)
		}
	}
}

func exitText(status *int) string {
	if status == nil {
		return "none"
	}
	return fmt.Sprint(*status)
}

// waitShipped waits until no recording file is left on either node: the
// shipper removes a node's copy only once every file of the recording is
// verified in the bucket and its recording.shipped event is written.
func (c *benchCluster) waitShipped(ctx context.Context) error {
	deadline := time.Now().Add(shipWait)
	for {
		left := map[string][]string{}
		total := 0
		for _, n := range c.nodes {
			files, err := recordingFiles(n.recordingsDir())
			if err != nil {
				return err
			}
			left[n.name] = files
			total += len(files)
		}
		if total == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var why []string
			for _, n := range c.nodes {
				if files := left[n.name]; len(files) > 0 {
					why = append(why, fmt.Sprintf("%s: %d files left (e.g. %s); its last word on shipping: %s",
						n.name, len(files), files[0], lastLine(n.logPath, "not shipped")))
				}
			}
			return fmt.Errorf("recordings not all in the bucket %s after the sessions ended: %s", shipWait, strings.Join(why, "; "))
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// recordingFiles lists the recordings' files under dir (casts, their
// checkpoints and manifests), not the shipper's lock.
func recordingFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a day's folder removed meanwhile
		}
		if err != nil || d.IsDir() {
			return err
		}
		for _, suffix := range []string{".cast", ".checkpoints", ".manifest.json"} {
			if strings.HasSuffix(p, suffix) {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// lastLine is the last line of file containing substr, or "nothing".
func lastLine(file, substr string) string {
	f, err := os.Open(file)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	last := "nothing"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			last = sc.Text()
		}
	}
	return last
}

// verifyReport is the part of `bastion verify --all --json` checked here.
type verifyReport struct {
	Sessions []struct {
		ID        string `json:"id"`
		Verdict   string `json:"verdict"`
		Detail    string `json:"detail"`
		Unshipped bool   `json:"unshipped"`
	} `json:"sessions"`
	Audit *struct {
		Chained int `json:"chained"`
	} `json:"audit"`
	Problems []string `json:"problems"`
}

// clusterVerify runs `bastion verify --all` on the second node: it reads
// the first node's recordings from the bucket, its own too (their local
// copies are gone), and checks the audit chain both nodes wrote. Every
// session must be verified, and none found wanting.
func (b *bench) clusterVerify(ctx context.Context, c *benchCluster, sessions []*clusterSession) error {
	n := c.nodes[len(c.nodes)-1]
	out, runErr := n.run(ctx, b.e.bin, "verify", "--all", "--json")
	var rep verifyReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("verify --all on %s: %v (%v)", n.name, err, runErr)
	}
	if k := len(rep.Problems); k > 0 {
		return fmt.Errorf("verify --all on %s: %d problems:\n  %s", n.name, k, strings.Join(rep.Problems[:min(k, 5)], "\n  "))
	}
	if runErr != nil {
		return runErr
	}
	verdicts := map[string]string{}
	for _, s := range rep.Sessions {
		verdicts[s.ID] = s.Verdict
		if s.Unshipped {
			verdicts[s.ID] += " (not shipped: " + s.Detail + ")"
		}
	}
	for _, s := range sessions {
		if v := verdicts[s.id]; v != "verified" {
			return fmt.Errorf("verify --all on %s: session %d (%s, run on %s) is %q, want verified", n.name, s.i, s.id, s.node.name, v)
		}
	}
	chained := 0
	if rep.Audit != nil {
		chained = rep.Audit.Chained
	}
	logf(b.opt.log, "%-40s %d sessions verified from the bucket on %s; audit chain of %d events verified", "cluster verify", len(rep.Sessions), n.name, chained)
	return nil
}

// checkBucket reads every session's recording back from the bucket over
// S3 and checks that it holds both lines the client read, and that its
// manifest is there beside it.
func (c *benchCluster) checkBucket(ctx context.Context, sessions []*clusterSession) error {
	client, err := c.s3.NewClient()
	if err != nil {
		return err
	}
	keys := map[string]string{} // object name without its folders → key
	for obj := range client.ListObjects(ctx, clusterBucket, minio.ListObjectsOptions{Prefix: clusterPrefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list bucket %s: %w", clusterBucket, obj.Err)
		}
		keys[path.Base(obj.Key)] = obj.Key
	}
	for _, s := range sessions {
		key, ok := keys[s.id+".cast"]
		if !ok || keys[s.id+".manifest.json"] == "" {
			return fmt.Errorf("session %d (%s): recording or manifest not in bucket %s", s.i, s.id, clusterBucket)
		}
		obj, err := client.GetObject(ctx, clusterBucket, key, minio.GetObjectOptions{})
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		data, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		for _, line := range []string{s.openLine(), s.doneLine()} {
			if !strings.Contains(string(data), line) {
				return fmt.Errorf("session %d (%s): the recording in the bucket lacks %q, which the client read", s.i, s.id, line)
			}
		}
	}
	return nil
}
