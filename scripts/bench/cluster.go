package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/internal/s3test"
)

// Where the cluster ships its recordings: a bucket of the harness's S3
// server, under a prefix shared by both nodes.
const (
	clusterBucket = "recordings"
	clusterPrefix = "cluster/"
)

// benchCluster is two `bastion serve` nodes as one service, as the README's
// "Behind a load balancer" sets them up: one PostgreSQL database, one
// bucket and prefix for recordings, copies of the same keys (those of the
// harness's single bastion, so that the client's certificate and
// known_hosts serve here too), each node its own data directory. Both
// nodes reach the harness's one target sshd.
type benchCluster struct {
	dir   string
	pg    *pgtest.Server
	s3    *s3test.Server
	nodes []*clusterNode
}

// clusterNode is one `bastion serve` of the cluster.
type clusterNode struct {
	name    string
	dir     string // holds config.yaml, the keys, data/
	config  string
	srv     *server
	logPath string
}

// recordingsDir is where the node writes recordings before it ships them.
func (n *clusterNode) recordingsDir() string { return filepath.Join(n.dir, "data", "recordings") }

// clusterKeys are the files every node holds a copy of.
var clusterKeys = []string{"host_key", "user_ca", "target_ca", "signing_key", "policy.yaml"}

// startCluster starts PostgreSQL, the S3 server and the two nodes. On
// error, what was started is stopped.
func (e *env) startCluster(ctx context.Context) (c *benchCluster, err error) {
	c = &benchCluster{dir: filepath.Join(e.dir, "cluster")}
	defer func() {
		if err != nil {
			c.close()
			c = nil
		}
	}()
	if c.pg, err = pgtest.Launch(); err != nil {
		return c, err
	}
	dsn, err := c.pg.CreateDatabase()
	if err != nil {
		return c, err
	}
	s3dir := filepath.Join(c.dir, "s3")
	if err := os.MkdirAll(s3dir, 0o700); err != nil {
		return c, err
	}
	if c.s3, err = s3test.Launch(s3dir); err != nil {
		return c, err
	}
	if err := c.s3.MakeBucket(clusterBucket); err != nil {
		return c, err
	}
	targetKey, err := os.ReadFile(filepath.Join(e.dir, "sshd", "host_key.pub"))
	if err != nil {
		return c, err
	}
	for _, name := range []string{"bench-a", "bench-b"} {
		n, err := e.startNode(ctx, c, name, dsn, targetKey)
		if err != nil {
			return c, fmt.Errorf("node %s: %w", name, err)
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

// startNode writes a node's directory and config and starts it; its port
// is added to the bastion's known_hosts (every node has the same host key).
func (e *env) startNode(ctx context.Context, c *benchCluster, name, dsn string, targetKey []byte) (*clusterNode, error) {
	n := &clusterNode{name: name, dir: filepath.Join(c.dir, name)}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, err
	}
	src := filepath.Join(e.dir, "bastion-conf")
	for _, f := range clusterKeys {
		for _, file := range []string{f, f + ".pub"} {
			data, err := os.ReadFile(filepath.Join(src, file))
			if errors.Is(err, os.ErrNotExist) && file != f {
				continue // the policy has no public half
			}
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(n.dir, file), data, 0o600); err != nil {
				return nil, err
			}
		}
	}
	for f, v := range map[string]string{"pg.dsn": dsn, "s3_access": s3test.AccessKey, "s3_secret": s3test.SecretKey} {
		if err := os.WriteFile(filepath.Join(n.dir, f), []byte(v+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := baseConfig(port, e.sshd.port, targetKey) + fmt.Sprintf(`node: %s
store:
  postgres:
    dsn_file: pg.dsn
recording:
  s3:
    endpoint: %s
    bucket: %s
    region: %s
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: %s
    insecure: true
`, name, c.s3.Addr, clusterBucket, s3test.Region, clusterPrefix)
	n.config = filepath.Join(n.dir, "config.yaml")
	if err := os.WriteFile(n.config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	n.logPath = filepath.Join(n.dir, "bastion.log")
	log, err := os.Create(n.logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(e.bin, "serve", "--config", n.config)
	cmd.Stdout, cmd.Stderr = log, log
	if n.srv, err = e.startServer(ctx, cmd, port); err != nil {
		b, _ := os.ReadFile(n.logPath)
		return nil, fmt.Errorf("%w\n%s", err, b)
	}
	pub, err := os.ReadFile(filepath.Join(n.dir, "host_key.pub"))
	if err != nil {
		return nil, err
	}
	kh, err := os.OpenFile(filepath.Join(e.dir, "known_hosts.bastion"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer kh.Close()
	_, err = fmt.Fprintf(kh, "[127.0.0.1]:%d %s", port, pub)
	return n, err
}

// run runs a bastion subcommand against the node's config (its database
// and bucket) and returns its standard output, whatever its exit status,
// with an error carrying its standard error when it failed.
func (n *clusterNode) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := command(ctx, bin, append(args, "--config", n.config)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("bastion %s on %s: %v: %s", args[0], n.name, err, strings.TrimSpace(stderr.String()))
	}
	return out, err
}

// close stops the nodes (gracefully: they close their recordings), then
// the S3 server and PostgreSQL.
func (c *benchCluster) close() {
	for _, n := range c.nodes {
		_ = n.srv.cmd.Process.Signal(syscall.SIGINT)
	}
	for _, n := range c.nodes {
		select {
		case <-n.srv.done:
		case <-time.After(30 * time.Second):
			_ = n.srv.cmd.Process.Kill()
			<-n.srv.done
		}
	}
	if c.s3 != nil {
		c.s3.Stop()
	}
	if c.pg != nil {
		c.pg.Stop()
	}
}
