package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/policies"
)

// The sftp gate: when the policy has file rules, the bastion terminates the
// SFTP protocol instead of passing it through. It serves SFTP to the client
// (pkg/sftp's request server over the client's channel) and is itself an
// SFTP client of the target's sftp server (over the upstream channel, on
// which start already requested the "sftp" subsystem). Every open is then
// judged against the rules by path, and a masked file's content is read,
// masked and served from the bastion: the target's bytes never reach the
// client directly.
//
// Without file rules, sftp keeps the cheaper passthrough with the packet
// sniffer (sftp.go).

// sftpGateInitTimeout bounds the SFTP version exchange with the target and
// the lookup of the starting directory.
const sftpGateInitTimeout = 15 * time.Second

// errSFTPUpstream marks a failure of the target's side of the gate; the
// session is ended rather than continued in an unknown state.
var errSFTPUpstream = errors.New("target sftp server failed")

// sftpGate serves one sftp session under the file rules. Its fields are set
// before the request server starts and read-only after; the handlers run
// on the request server's workers concurrently.
type sftpGate struct {
	ss    *session
	up    *sftp.Client
	files *policies.Files
	max   int64 // largest file served masked
	// client is the session channel, for the sftp server.
	client *gatedWriter

	// closing is set once the client side has ended: the target's
	// connection ending after that is the normal shutdown, not a failure.
	closing atomic.Bool
}

// gateSFTP runs the session through the sftp gate until both sides end. It
// takes pump's place and, like it, closes ss.done when finished.
func (ss *session) gateSFTP(files *policies.Files, upReqs <-chan *ssh.Request) {
	defer close(ss.done)
	reqsDone := make(chan struct{})
	go func() {
		defer close(reqsDone)
		for r := range upReqs {
			ss.forwardUpstreamRequest(r)
		}
	}()
	// The target's sftp server explains its own failures on stderr, which
	// is passed on as it is without the gate.
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		_, _ = io.Copy(ss.ch.Stderr(), ss.up.Stderr())
	}()

	g := &sftpGate{ss: ss, files: files, max: files.MaxMasked(), client: &gatedWriter{ReadWriteCloser: ss.ch}}
	g.serve()

	// No write to the channel may run alongside CloseWrite: pkg/sftp's
	// response goroutine can outlive Serve, and the target's stderr ends
	// with its channel.
	g.client.stop()
	<-stderrDone
	<-reqsDone // the exit status goes before the EOF (see pump)
	ss.ch.CloseWrite()
	ss.ch.Close()
}

// gatedWriter is the client channel as the sftp server sees it: stop
// waits for a write in progress and refuses later ones, so that ending the
// channel never races with a response still being sent.
type gatedWriter struct {
	io.ReadWriteCloser
	mu      sync.Mutex
	stopped bool
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return 0, io.ErrClosedPipe
	}
	return w.ReadWriteCloser.Write(p)
}

func (w *gatedWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// serve connects to the target's sftp server, then serves the client until
// it ends its side, then lets the target's server finish.
func (g *sftpGate) serve() {
	ss := g.ss
	up, wd, err := g.connect()
	if err != nil {
		g.fail(err)
		return
	}
	g.up = up
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		err := up.Wait()
		if !g.closing.Load() {
			if err == nil || errors.Is(err, io.EOF) {
				err = errors.New("connection closed")
			}
			g.fail(fmt.Errorf("%w: %v", errSFTPUpstream, err))
		}
	}()
	srv := sftp.NewRequestServer(g.client, sftp.Handlers{FileGet: g, FilePut: g, FileCmd: g, FileList: g},
		sftp.WithStartDirectory(wd))
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		ss.log.Debug("sftp client side ended", "err", err)
	}
	g.closing.Store(true)
	// Closing the client sends end of input to the target's sftp server,
	// which then exits, so its exit status still reaches the client.
	_ = up.Close()
	<-upDone
}

// connect starts the SFTP conversation with the target and asks for the
// starting directory (the login's home), against which the client's
// relative paths are resolved, as the target itself would.
func (g *sftpGate) connect() (*sftp.Client, string, error) {
	type result struct {
		c   *sftp.Client
		wd  string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sftp.NewClientPipe(g.ss.up, upstreamWriter{g.ss.up})
		if err != nil {
			ch <- result{err: fmt.Errorf("%w: %v", errSFTPUpstream, err)}
			return
		}
		wd, err := c.Getwd()
		if err != nil {
			c.Close()
			ch <- result{err: fmt.Errorf("%w: starting directory: %v", errSFTPUpstream, err)}
			return
		}
		ch <- result{c: c, wd: wd}
	}()
	t := time.NewTimer(sftpGateInitTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.c, r.wd, r.err
	case <-t.C:
		g.ss.up.Close() // releases the goroutine above
		if r := <-ch; r.c != nil {
			r.c.Close()
		}
		return nil, "", fmt.Errorf("%w: no answer within %v", errSFTPUpstream, sftpGateInitTimeout)
	}
}

// fail ends the session because the target's side failed: the client
// reads why, the audit log records it, and nothing more is served.
func (g *sftpGate) fail(err error) {
	g.ss.end(endCause{code: ExitTargetUnreachable, msg: "the target's sftp server failed; session terminated", event: "sftp.upstream_failed", err: err})
}

// upstreamError turns an error from the target into what the client is
// told. A status from the target's sftp server (no such file, permission
// denied, failure...) is passed on with its code. Anything else means the
// connection to the target is no longer usable: the session ends (fail
// closed) and the client is told the connection was lost.
func (g *sftpGate) upstreamError(err error) error {
	var st *sftp.StatusError
	var own *gateError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &own):
		return err
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, os.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, os.ErrPermission):
		return sftp.ErrSSHFxPermissionDenied
	case errors.As(err, &st):
		return st.FxCode()
	}
	g.fail(fmt.Errorf("%w: %v", errSFTPUpstream, err))
	return sftp.ErrSSHFxConnectionLost
}

// upstreamWriter lets the sftp client close only its direction of the
// upstream channel: the target's server sees end of input and exits on its
// own, and its exit status still travels back.
type upstreamWriter struct{ ch ssh.Channel }

func (w upstreamWriter) Write(p []byte) (int, error) { return w.ch.Write(p) }
func (w upstreamWriter) Close() error                { return w.ch.CloseWrite() }

// gateError is an error the gate itself returns to the client: code is the
// SFTP status, msg the text a client that shows status messages prints.
type gateError struct {
	code error // an sftp.ErrSSHFx* value
	msg  string
}

func (e *gateError) Error() string { return e.msg }
func (e *gateError) Unwrap() error { return e.code }

var (
	_ sftp.FileReader           = (*sftpGate)(nil)
	_ sftp.OpenFileWriter       = (*sftpGate)(nil)
	_ sftp.PosixRenameFileCmder = (*sftpGate)(nil)
	_ sftp.StatVFSFileCmder     = (*sftpGate)(nil)
	_ sftp.LstatFileLister      = (*sftpGate)(nil)
	_ sftp.RealPathFileLister   = (*sftpGate)(nil)
	_ sftp.ReadlinkFileLister   = (*sftpGate)(nil)
)
