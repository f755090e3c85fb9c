package server

import (
	"io"
	"os"
	"path"

	"github.com/pkg/sftp"

	"github.com/bastion-ssh/bastion/policies"
)

// The request server's handlers. Each judges the paths it touches against
// the file rules, audits and records the operation before it reaches the
// target, then carries it out with the gate's own sftp client.
//
// What is judged:
//   - open for reading: pass streams the target's file; mask serves it
//     masked (sftpgate_mask.go); block refuses.
//   - open for writing, remove, mkdir, rmdir, setstat: refused on a
//     blocked path, passed otherwise (uploads are not masked). A masked
//     path cannot be opened for reading and writing at once.
//   - rename, link, symlink: refused when either end is blocked, or when
//     the content would become readable under a weaker rule than its own
//     (a masked file renamed to a pass path would be served unmasked).
//   - opendir: refused on a blocked directory; listings pass otherwise.
//   - stat, lstat, readlink, realpath, statvfs: passed, not audited (as
//     with the passthrough), even on a blocked path: a client can learn a
//     blocked file's size, mode and times, not its content.

// canonical returns the target's canonical form of p: OpenSSH's sftp-server
// resolves "..", and symbolic links in realpath.
func (g *sftpGate) canonical(p string) (string, error) {
	real, err := g.up.RealPath(p)
	if err != nil {
		return "", g.upstreamError(err)
	}
	return real, nil
}

// judge decides p as the stricter of the rules for p as the client named
// it and for its canonical form, so that a symbolic link cannot lead
// around a rule. It returns the canonical path, which opens then use, so
// that what was judged is what is opened.
func (g *sftpGate) judge(p string) (policies.FileDecision, string, error) {
	d := g.files.Decide(p)
	if d.Action == policies.FileBlock {
		return d, p, nil // nothing is stricter; no need to ask the target
	}
	real, err := g.canonical(p)
	if err != nil {
		return d, "", err
	}
	return policies.Stricter(d, g.files.Decide(real)), real, nil
}

// Fileread opens a file for reading (sftp.FileReader).
func (g *sftpGate) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	op := sftpOp{Op: "open", Path: r.Filepath, Mode: openMode(r.Flags)}
	d, real, err := g.judge(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch d.Action {
	case policies.FilePass:
		if err := g.record(op, d); err != nil {
			return nil, err
		}
		f, err := g.up.Open(real)
		if err != nil {
			return nil, g.upstreamError(err)
		}
		return &gateFile{g: g, f: f}, nil
	case policies.FileMask:
		return g.openMasked(op, d, real)
	}
	return nil, g.block(op, d)
}

// Filewrite opens a file for writing only (sftp.FileWriter).
func (g *sftpGate) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return g.openWrite(r)
}

// OpenFile opens a file for reading and writing (sftp.OpenFileWriter).
func (g *sftpGate) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return g.openWrite(r)
}

func (g *sftpGate) openWrite(r *sftp.Request) (*gateFile, error) {
	fl := r.Pflags()
	op := sftpOp{Op: "open", Path: r.Filepath, Mode: openMode(r.Flags)}
	d, real, err := g.judge(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch {
	case d.Action == policies.FileBlock:
		return nil, g.block(op, d)
	case d.Action == policies.FileMask && fl.Read:
		// Reads through this handle would bypass the masking.
		return nil, g.refuse(op, d, "sftp.blocked", "read-write open under "+d.Rule,
			"a masked file cannot be opened for reading and writing", sftp.ErrSSHFxPermissionDenied)
	}
	if err := g.record(op, d); err != nil {
		return nil, err
	}
	f, err := g.up.OpenFile(real, osOpenFlags(fl))
	if err != nil {
		return nil, g.upstreamError(err)
	}
	return &gateFile{g: g, f: f}, nil
}

// osOpenFlags turns SFTP open flags into the os flags the sftp client
// takes, which it turns back into the same SFTP flags.
func osOpenFlags(f sftp.FileOpenFlags) int {
	var fl int
	switch {
	case f.Read && (f.Write || f.Append):
		fl = os.O_RDWR
	case f.Write || f.Append || f.Creat || f.Trunc:
		fl = os.O_WRONLY
	}
	for _, b := range []struct {
		on   bool
		flag int
	}{{f.Append, os.O_APPEND}, {f.Creat, os.O_CREATE}, {f.Trunc, os.O_TRUNC}, {f.Excl, os.O_EXCL}} {
		if b.on {
			fl |= b.flag
		}
	}
	return fl
}

// gateFile is an open file at the target, read or written at the client's
// offsets. The request server closes it when the client closes the handle.
type gateFile struct {
	g *sftpGate
	f *sftp.File
}

func (h *gateFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := h.f.ReadAt(b, off)
	return n, h.g.upstreamError(err)
}

func (h *gateFile) WriteAt(b []byte, off int64) (int, error) {
	n, err := h.f.WriteAt(b, off)
	return n, h.g.upstreamError(err)
}

func (h *gateFile) Close() error { return h.g.upstreamError(h.f.Close()) }

// Filecmd carries out the commands that change the file system
// (sftp.FileCmder).
func (g *sftpGate) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Rename":
		return g.move(r, "rename", g.up.Rename)
	case "Link":
		return g.move(r, "hardlink@openssh.com", g.up.Link)
	case "Symlink":
		return g.symlink(r)
	case "Remove":
		return g.change(r, "remove", g.removeFile)
	case "Mkdir":
		return g.change(r, "mkdir", g.up.Mkdir)
	case "Rmdir":
		return g.change(r, "rmdir", g.up.RemoveDirectory)
	case "Setstat":
		return g.change(r, "setstat", func(p string) error { return g.setstat(p, r) })
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename is rename that replaces an existing target
// (sftp.PosixRenameFileCmder).
func (g *sftpGate) PosixRename(r *sftp.Request) error {
	return g.move(r, "posix-rename@openssh.com", g.up.PosixRename)
}

// StatVFS reports file system statistics (sftp.StatVFSFileCmder).
func (g *sftpGate) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	st, err := g.up.StatVFS(r.Filepath)
	if err != nil {
		return nil, g.upstreamError(err)
	}
	return st, nil
}

// change runs a command on one path, refused on a blocked path.
func (g *sftpGate) change(r *sftp.Request, name string, do func(string) error) error {
	op := sftpOp{Op: name, Path: r.Filepath}
	d, _, err := g.judge(r.Filepath)
	if err != nil {
		return err
	}
	if d.Action == policies.FileBlock {
		return g.block(op, d)
	}
	if err := g.record(op, d); err != nil {
		return err
	}
	// The command acts on the path as named: removing a symbolic link
	// removes the link, not what it points to.
	return g.upstreamError(do(r.Filepath))
}

// move renames or hard-links Filepath to Target.
func (g *sftpGate) move(r *sftp.Request, name string, do func(from, to string) error) error {
	op := sftpOp{Op: name, Path: r.Filepath, Path2: r.Target}
	from, _, err := g.judge(r.Filepath)
	if err != nil {
		return err
	}
	to, _, err := g.judge(r.Target)
	if err != nil {
		return err
	}
	if err := g.checkMove(op, from, to); err != nil {
		return err
	}
	if err := g.record(op, to); err != nil {
		return err
	}
	return g.upstreamError(do(r.Filepath, r.Target))
}

// symlink creates the link Target pointing at Filepath (the request
// server's naming). The link is judged as a move of what it points to.
func (g *sftpGate) symlink(r *sftp.Request) error {
	link, dest := r.Target, r.Filepath
	op := sftpOp{Op: "symlink", Path: link, Path2: dest}
	to, _, err := g.judge(link)
	if err != nil {
		return err
	}
	if !path.IsAbs(dest) {
		dest = path.Join(path.Dir(link), dest)
	}
	from := g.files.Decide(dest)
	// A link to something that does not exist yet is judged by its path.
	if real, err := g.up.RealPath(dest); err == nil {
		from = policies.Stricter(from, g.files.Decide(real))
	} else if err := g.upstreamError(err); err == sftp.ErrSSHFxConnectionLost {
		return err
	}
	if err := g.checkMove(op, from, to); err != nil {
		return err
	}
	if err := g.record(op, to); err != nil {
		return err
	}
	return g.upstreamError(g.up.Symlink(r.Filepath, link))
}

// checkMove refuses a move out of, into or within a blocked path, and one
// that would serve content under a weaker rule than its own.
func (g *sftpGate) checkMove(op sftpOp, from, to policies.FileDecision) error {
	switch {
	case from.Action == policies.FileBlock:
		return g.block(op, from)
	case to.Action == policies.FileBlock:
		return g.block(op, to)
	case policies.Weakens(from, to):
		return g.refuse(op, from, "sftp.blocked",
			"would make a file under "+from.Rule+" readable under "+to.Rule+" ("+string(to.Action)+")",
			"would expose a masked file without masking", sftp.ErrSSHFxPermissionDenied)
	}
	return nil
}

// removeFile removes a file but, unlike the sftp client's Remove, never a
// directory: SSH_FXP_REMOVE on a directory fails at the target too.
func (g *sftpGate) removeFile(p string) error {
	fi, err := g.up.Lstat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return &gateError{code: sftp.ErrSSHFxFailure, msg: "is a directory"}
	}
	return g.up.Remove(p)
}

// setstat applies the attributes the client set, one kind at a time.
func (g *sftpGate) setstat(p string, r *sftp.Request) error {
	a, fl := r.Attributes(), r.AttrFlags()
	if fl.Size {
		if err := g.up.Truncate(p, int64(a.Size)); err != nil {
			return err
		}
	}
	if fl.Permissions {
		if err := g.up.Chmod(p, a.FileMode()); err != nil {
			return err
		}
	}
	if fl.Acmodtime {
		if err := g.up.Chtimes(p, a.AccessTime(), a.ModTime()); err != nil {
			return err
		}
	}
	if fl.UidGid {
		if err := g.up.Chown(p, int(a.UID), int(a.GID)); err != nil {
			return err
		}
	}
	return nil
}

// Filelist answers opendir and stat (sftp.FileLister).
func (g *sftpGate) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		op := sftpOp{Op: "opendir", Path: r.Filepath}
		d, _, err := g.judge(r.Filepath)
		if err != nil {
			return nil, err
		}
		if d.Action == policies.FileBlock {
			return nil, g.block(op, d)
		}
		if err := g.record(op, d); err != nil {
			return nil, err
		}
		entries, err := g.up.ReadDir(r.Filepath)
		if err != nil {
			return nil, g.upstreamError(err)
		}
		return newListing(g.maskNames(r.Filepath, d, entries)...), nil
	case "Stat":
		fi, err := g.up.Stat(r.Filepath)
		if err != nil {
			return nil, g.upstreamError(err)
		}
		return newListing(fi), nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat is stat without following a final symbolic link
// (sftp.LstatFileLister).
func (g *sftpGate) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := g.up.Lstat(r.Filepath)
	if err != nil {
		return nil, g.upstreamError(err)
	}
	return newListing(fi), nil
}

// RealPath asks the target, so "~"-relative paths and symbolic links
// resolve as they would without the bastion (sftp.RealPathFileLister).
func (g *sftpGate) RealPath(p string) (string, error) {
	return g.canonical(p)
}

// Readlink returns a symbolic link's target (sftp.ReadlinkFileLister).
func (g *sftpGate) Readlink(p string) (string, error) {
	dest, err := g.up.ReadLink(p)
	if err != nil {
		return "", g.upstreamError(err)
	}
	return dest, nil
}

// listing serves directory entries or a stat result to the request server.
type listing []os.FileInfo

func newListing(fis ...os.FileInfo) listing {
	l := make(listing, len(fis))
	for i, fi := range fis {
		l[i] = remoteInfo{fi}
	}
	return l
}

func (l listing) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// remoteInfo passes on the owner and extended attributes the target
// reported, which the request server would otherwise drop.
type remoteInfo struct{ os.FileInfo }

func (i remoteInfo) stat() *sftp.FileStat {
	if st, ok := i.Sys().(*sftp.FileStat); ok {
		return st
	}
	return &sftp.FileStat{}
}

func (i remoteInfo) Uid() uint32                   { return i.stat().UID }
func (i remoteInfo) Gid() uint32                   { return i.stat().GID }
func (i remoteInfo) Extended() []sftp.StatExtended { return i.stat().Extended }
