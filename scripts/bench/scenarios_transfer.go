package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// xfer is one measured transfer.
type xfer struct {
	bytes     int64
	elapsed   time.Duration // data phase (downloads, uploads) or whole command (scp)
	serverCPU time.Duration // bastion process, jump sshd, or target sshd net of the remote command
	clientCPU time.Duration // the ssh client, for reference
	recording int64         // .cast bytes (bastion only)
}

func (x xfer) mbps() float64 { return float64(x.bytes) / 1e6 / x.elapsed.Seconds() }

// cpuPerGiB is server CPU seconds per GiB moved.
func (x xfer) cpuPerGiB() float64 { return x.serverCPU.Seconds() / (float64(x.bytes) / (1 << 30)) }

func cipherName(c string) string { return strings.TrimSuffix(c, "@openssh.com") }

// downloadScenario: /dev/zero for each cipher, then base64 text; the
// bastion's recordings of both are measured.
func (b *bench) downloadScenario(ctx context.Context, order []side) error {
	zero := fmt.Sprintf("head -c %d /dev/zero", b.opt.xferBytes)
	for _, c := range ciphers {
		for _, s := range order {
			wait := b.startProfile(ctx, s, "download.zero."+cipherName(c))
			x, err := b.download(ctx, s, c, zero, b.opt.xferBytes)
			wait()
			if err != nil {
				return fmt.Errorf("%s %s: %w", s, cipherName(c), err)
			}
			b.recordTransfer("download.zero."+cipherName(c), s, x, true)
			if s == viaBastion {
				b.res.add("recording.zero", s, float64(x.recording)/float64(x.bytes))
			}
		}
	}
	st, err := os.Stat(b.e.textFile)
	if err != nil {
		return err
	}
	for _, s := range order {
		wait := b.startProfile(ctx, s, "download.text."+cipherName(ciphers[0]))
		x, err := b.download(ctx, s, ciphers[0], "cat "+b.e.textFile, st.Size())
		wait()
		if err != nil {
			return fmt.Errorf("%s text: %w", s, err)
		}
		b.recordTransfer("download.text."+cipherName(ciphers[0]), s, x, true)
		if s == viaBastion {
			b.res.add("recording.text", s, float64(x.recording)/float64(x.bytes))
		}
	}
	return nil
}

// uploadScenario pipes data into `cat > /dev/null` for each cipher.
func (b *bench) uploadScenario(ctx context.Context, order []side) error {
	for _, c := range ciphers {
		for _, s := range order {
			wait := b.startProfile(ctx, s, "upload."+cipherName(c))
			x, err := b.upload(ctx, s, c, b.opt.xferBytes)
			wait()
			if err != nil {
				return fmt.Errorf("%s %s: %w", s, cipherName(c), err)
			}
			b.recordTransfer("upload."+cipherName(c), s, x, true)
		}
	}
	return nil
}

// scpScenario copies a file to a temporary path on the target.
func (b *bench) scpScenario(ctx context.Context, order []side) error {
	for _, c := range ciphers {
		for _, s := range order {
			wait := b.startProfile(ctx, s, "scp."+cipherName(c))
			x, err := b.scp(ctx, s, c)
			wait()
			if err != nil {
				return fmt.Errorf("%s %s: %w", s, cipherName(c), err)
			}
			b.recordTransfer("scp."+cipherName(c), s, x, false)
		}
	}
	return nil
}

func (b *bench) recordTransfer(metric string, s side, x xfer, cpu bool) {
	b.res.add(metric+".MBps", s, x.mbps())
	msg := fmt.Sprintf("%-40s %-7s %8.1f MB/s", metric, s, x.mbps())
	if cpu {
		b.res.add(metric+".cpu", s, x.cpuPerGiB())
		b.res.add(metric+".client_cpu", s, x.clientCPU.Seconds()/(float64(x.bytes)/(1<<30)))
		msg += fmt.Sprintf("  %.3f CPU s/GiB", x.cpuPerGiB())
	}
	logf(b.opt.log, "%s", msg)
}

// download runs remote on the target and reads all of its output.
func (b *bench) download(ctx context.Context, s side, cipher, remote string, want int64) (xfer, error) {
	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return xfer{}, err
	}
	cpu0, err := b.serverCPU(s)
	if err != nil {
		return xfer{}, err
	}
	cmdline := b.tag(remote + "; times >&2")
	cmd := command(ctx, "ssh", b.e.sshArgs(s, cipher, nil, cmdline)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, in, err := bigPipe()
	if err != nil {
		return xfer{}, err
	}
	defer out.Close()
	cmd.Stdout = in
	err = b.e.procs.start(cmd)
	in.Close() // the child holds the write end now
	if err != nil {
		return xfer{}, err
	}
	n, first, last, rerr := drain(out)
	if err := errors.Join(rerr, b.e.procs.wait(cmd)); err != nil {
		return xfer{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if n != want {
		return xfer{}, fmt.Errorf("received %d bytes, want %d: %s", n, want, strings.TrimSpace(stderr.String()))
	}
	x := xfer{bytes: n, elapsed: last.Sub(first), clientCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if err := b.finishCPU(ctx, s, cpu0, stderr.String(), &x); err != nil {
		return xfer{}, err
	}
	if s == viaBastion {
		if x.recording, err = b.recordingSize(ctx, cmdline); err != nil {
			return xfer{}, err
		}
	}
	return x, nil
}

// bigPipe makes a pipe of 1 MiB for ssh's stdout. With the default 64 KiB,
// ssh can hand over only 64 KiB per poll while it reads 256 KiB from the
// network, and its output buffer keeps growing (each growth a copy): the
// client, not the servers, would then set the pace.
func bigPipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20); err != nil {
		r.Close()
		w.Close()
		return nil, nil, fmt.Errorf("pipe size: %w", err)
	}
	return r, w, nil
}

// drain reads r to the end and times it from its first byte.
func drain(r io.Reader) (n int64, first, last time.Time, err error) {
	buf := make([]byte, 1<<20)
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			if n == 0 {
				first = time.Now()
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, first, time.Now(), nil
		}
		if rerr != nil {
			return n, first, time.Now(), rerr
		}
	}
}

// uploadReady is what the remote command prints before it reads its
// input: the session is then open end to end.
const uploadReady = "bench-upload-ready"

// upload pipes n zero bytes into `cat > /dev/null` on the target. The
// harness feeds ssh's stdin only once the remote command has printed
// uploadReady: ssh sends its stdin as soon as it has sent the exec
// request, without waiting for the reply, which on the bastion path is
// before the bastion has even connected to the target. A clock started
// when ssh first drains its stdin would charge that path for the
// bastion's connection to the target.
func (b *bench) upload(ctx context.Context, s side, cipher string, n int64) (xfer, error) {
	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return xfer{}, err
	}
	cpu0, err := b.serverCPU(s)
	if err != nil {
		return xfer{}, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return xfer{}, err
	}
	out, in, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return xfer{}, err
	}
	defer out.Close()
	cmdline := b.tag("echo " + uploadReady + "; cat > /dev/null; times >&2")
	cmd := command(ctx, "ssh", b.e.sshArgs(s, cipher, nil, cmdline)...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, in, &stderr
	err = b.e.procs.start(cmd)
	pr.Close() // the child holds these ends now
	in.Close()
	if err != nil {
		pw.Close()
		return xfer{}, err
	}
	line, rerr := bufio.NewReader(out).ReadString('\n')
	if rerr != nil || strings.TrimSpace(line) != uploadReady {
		pw.Close()
		werr := b.e.procs.wait(cmd)
		return xfer{}, fmt.Errorf("remote command did not start (%q, %v, %v): %s", line, rerr, werr, strings.TrimSpace(stderr.String()))
	}
	start := time.Now()
	fed := make(chan error, 1)
	go func() { fed <- feed(pw, n) }()
	werr := b.e.procs.wait(cmd)
	end := time.Now()
	if err := errors.Join(werr, <-fed); err != nil {
		return xfer{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	x := xfer{bytes: n, elapsed: end.Sub(start), clientCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	return x, b.finishCPU(ctx, s, cpu0, stderr.String(), &x)
}

// feed writes n zero bytes to w and closes it.
func feed(w *os.File, n int64) error {
	defer w.Close()
	buf := make([]byte, 256<<10)
	for left := n; left > 0; {
		k, err := w.Write(buf[:min(int64(len(buf)), left)])
		if err != nil {
			return err
		}
		left -= int64(k)
	}
	return nil
}

// finishCPU waits for the path to go idle and charges it the CPU used
// since cpu0; on the direct path the remote command's own CPU (from
// `times`) is taken out, leaving sshd's. The jump host runs no command:
// its sshd's CPU is all forwarding.
func (b *bench) finishCPU(ctx context.Context, s side, cpu0 time.Duration, stderr string, x *xfer) error {
	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return err
	}
	cpu1, err := b.serverCPU(s)
	if err != nil {
		return err
	}
	x.serverCPU = cpu1 - cpu0
	if s == direct {
		work, err := parseTimes(stderr)
		if err != nil {
			return err
		}
		x.serverCPU -= work
	}
	return nil
}

var timesRE = regexp.MustCompile(`(\d+)m(\d+(?:\.\d+)?)s`)

// parseTimes sums the output of the shell builtin `times`: user and
// system time of the shell, then of its children.
func parseTimes(out string) (time.Duration, error) {
	m := timesRE.FindAllStringSubmatch(out, -1)
	if len(m) != 4 {
		return 0, fmt.Errorf("unexpected output of times: %q", out)
	}
	var sum time.Duration
	for _, g := range m {
		mins, _ := strconv.Atoi(g[1])
		sec, _ := strconv.ParseFloat(g[2], 64)
		sum += time.Duration(mins)*time.Minute + time.Duration(sec*float64(time.Second))
	}
	return sum, nil
}

// scp copies the source file to a fresh path on the target.
func (b *bench) scp(ctx context.Context, s side, cipher string) (xfer, error) {
	if err := b.quiesce(ctx, 30*time.Second); err != nil {
		return xfer{}, err
	}
	b.seq++
	dst := filepath.Join(b.e.scpDir, fmt.Sprintf("upload-%d", b.seq))
	defer os.Remove(dst)
	cmd := command(ctx, "scp", b.e.scpArgs(s, cipher, b.e.scpSrc, dst)...)
	start := time.Now()
	if err := b.e.procs.run(cmd); err != nil {
		return xfer{}, err
	}
	elapsed := time.Since(start)
	st, err := os.Stat(dst)
	if err != nil {
		return xfer{}, err
	}
	if st.Size() != b.opt.xferBytes {
		return xfer{}, fmt.Errorf("scp wrote %d bytes, want %d", st.Size(), b.opt.xferBytes)
	}
	return xfer{bytes: st.Size(), elapsed: elapsed}, nil
}
