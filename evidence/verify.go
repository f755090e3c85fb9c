package evidence

import (
	"archive/tar"
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// maxManifest bounds MANIFEST.json, read into memory.
const maxManifest = 256 << 20

// VerifyResult is what Verify found.
type VerifyResult struct {
	KeyFingerprint string   `json:"key_fingerprint"`
	Created        string   `json:"created"`
	Members        int      `json:"members"`
	Sessions       int      `json:"sessions"`
	Events         int      `json:"audit_events"`
	Problems       []string `json:"problems"`
}

// OK reports whether the bundle verified.
func (r *VerifyResult) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyResult) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

type member struct {
	size   int64
	sha256 string
}

// Verify checks the bundle read from r: the manifest's signature, every
// member against it, and what the members claim (recordings, log proofs,
// the audit chain). If key is not nil, the bundle must be signed by it.
// Members are unpacked into a temporary folder, removed before return.
// Each problem names the member it is about.
func Verify(r io.Reader, key ed25519.PublicKey) (*VerifyResult, error) {
	res := &VerifyResult{Problems: []string{}}
	tmp, err := os.MkdirTemp("", "bastion-evidence-verify-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	members, manifestData, err := unpack(r, tmp, res)
	if err != nil {
		return nil, err
	}
	res.Members = len(members)
	if manifestData == nil {
		res.problem("%s is missing: nothing in the bundle can be trusted", manifestName)
		return res, nil
	}
	pub, err := bundleKey(filepath.Join(tmp, "keys", "signing_key.pub"), res)
	if errors.Is(err, os.ErrNotExist) {
		res.problem("keys/signing_key.pub is missing: the manifest's signature cannot be checked")
		return res, nil
	}
	if err != nil {
		res.problem("keys/signing_key.pub: %v", err)
		return res, nil
	}
	if key != nil && !key.Equal(pub) {
		res.problem("keys/signing_key.pub: the bundle is signed by %s, not by the key given", res.KeyFingerprint)
		return res, nil
	}
	m, err := openManifest(manifestData, pub)
	if err != nil {
		res.problem("%v", err)
		return res, nil
	}
	res.Created = m.Created
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		got, ok := members[f.Path]
		switch {
		case !ok:
			res.problem("%s is missing (the manifest lists it)", f.Path)
		case got.size != f.Size || got.sha256 != f.SHA256:
			res.problem("%s was altered: SHA-256 %s, %d bytes; the manifest says %s, %d bytes", f.Path, got.sha256, got.size, f.SHA256, f.Size)
		}
	}
	var extra []string
	for name := range members {
		if !listed[name] && name != manifestName {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		res.problem("%s is not in the manifest (added)", name)
	}
	checkContents(tmp, pub, members, res)
	return res, nil
}

// unpack writes each member under dir, hashing it, and returns the
// members and the manifest's bytes (nil if there is none).
func unpack(r io.Reader, dir string, res *VerifyResult) (map[string]member, []byte, error) {
	members := map[string]member{}
	var manifest []byte
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return members, manifest, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("evidence: not a readable tar archive: %w", err)
		}
		name := hdr.Name
		switch {
		case hdr.Typeflag != tar.TypeReg:
			res.problem("%s is not a regular file (type %q)", name, hdr.Typeflag)
			continue
		case checkMemberName(name) != nil:
			res.problem("%q is not a safe member name", name)
			continue
		case members[name] != (member{}) || (name == manifestName && manifest != nil):
			res.problem("%s appears twice", name)
			continue
		}
		if name == manifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, maxManifest)); err != nil {
				return nil, nil, fmt.Errorf("evidence: %s: %w", name, err)
			}
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			res.problem("%s cannot be unpacked: %v", name, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("evidence: %s: %w", name, err)
		}
		members[name] = member{size: n, sha256: hex.EncodeToString(h.Sum(nil))}
	}
}

// bundleKey reads the bundle's signing key.
func bundleKey(path string, res *VerifyResult) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, err
	}
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	pub, ok := ck.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	res.KeyFingerprint = ssh.FingerprintSHA256(k)
	return pub, nil
}

// checkContents checks what the members claim, against the signed tree
// head and the signing key.
func checkContents(dir string, pub ed25519.PublicKey, members map[string]member, res *VerifyResult) {
	head, err := os.ReadFile(filepath.Join(dir, "log", "head"))
	if err == nil {
		_, err = recorder.VerifyHead(head, pub)
	}
	if err != nil {
		res.problem("log/head: %v", err)
		return
	}
	var sessions []string
	for name := range members {
		if strings.HasPrefix(name, "sessions/") && strings.HasSuffix(name, "/session.json") {
			sessions = append(sessions, name)
		}
	}
	sort.Strings(sessions)
	for _, name := range sessions {
		checkSession(dir, name, head, pub, members, res)
	}
	checkAudit(dir, head, pub, res)
}

// checkSession checks one session.json against its recording and its log proof.
func checkSession(dir, name string, head []byte, pub ed25519.PublicKey, members map[string]member, res *VerifyResult) {
	res.Sessions++
	var rec SessionRecord
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		res.problem("%s: %v", name, err)
		return
	}
	folder := strings.TrimSuffix(name, "session.json")
	if folder != "sessions/"+rec.ID+"/" {
		res.problem("%s: describes session %q", name, rec.ID)
		return
	}
	var entry *recorder.LogEntry
	if rec.LogProof != nil {
		e, err := rec.LogProof.Check(head, pub)
		if err != nil {
			res.problem("%s: log proof: %v", name, err)
		} else if e.SessionID != rec.ID {
			res.problem("%s: the log proof is for session %q", name, e.SessionID)
		} else {
			entry = &e
		}
	}
	var cast string
	for _, f := range rec.Files {
		if strings.HasSuffix(f, ".cast") && strings.HasPrefix(f, folder) {
			cast = f
		}
	}
	if cast == "" && rec.DeletedAt != nil {
		// Deleted by retention: the kept manifest must be the logged one.
		for _, f := range rec.Files {
			if strings.HasSuffix(f, ".manifest.json") && entry != nil && members[f].sha256 != entry.ManifestSHA256 {
				res.problem("%s: differs from the manifest the signed log records", f)
			}
		}
		return
	}
	if cast == "" {
		res.problem("%s: no recording in the bundle", name)
		return
	}
	vr, err := recorder.Verify(filepath.Join(dir, filepath.FromSlash(cast)), pub)
	switch {
	case errors.Is(err, recorder.ErrIncomplete) || errors.Is(err, recorder.ErrNoManifest):
		if entry != nil {
			res.problem("%s: the signed log records the session closed, but its manifest is not in the bundle", cast)
		}
		return
	case err != nil:
		res.problem("%s: %v", cast, err)
		return
	case entry == nil:
		res.problem("%s: a closed session without a proof that it is in the signed log", name)
		return
	case entry.Chain != vr.Chain || entry.Events != vr.Events:
		res.problem("%s: differs from the session's record in the signed log", cast)
	case members[recorder.ManifestPath(cast)].sha256 != entry.ManifestSHA256:
		res.problem("%s: differs from the manifest the signed log records", recorder.ManifestPath(cast))
	}
	if h := vr.Header; h != nil && (h.Session.Identity != rec.Identity || h.Session.Target != rec.Target ||
		h.Session.Login != rec.Login || h.Command != rec.Command) {
		res.problem("%s: identity, target, login or command differ from the signed recording", name)
	}
}

// checkAudit follows audit/events.jsonl along the chain to the signed
// checkpoint in audit/checkpoint.json.
func checkAudit(dir string, head []byte, pub ed25519.PublicKey, res *VerifyResult) {
	const name = "audit/events.jsonl"
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		res.problem("%s is missing", name)
		return
	}
	defer f.Close()
	var cp *recorder.LogEntry
	if data, err := os.ReadFile(filepath.Join(dir, "audit", "checkpoint.json")); err == nil {
		var p recorder.RecordProof
		if err := json.Unmarshal(data, &p); err != nil {
			res.problem("audit/checkpoint.json: %v", err)
		} else if e, err := p.Check(head, pub); err != nil {
			res.problem("audit/checkpoint.json: %v", err)
		} else if e.Type != recorder.RecordAuditCheckpoint {
			res.problem("audit/checkpoint.json: the record is a %s, not an audit checkpoint", e.Type)
		} else {
			cp = &e
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var hash string
	var seq int64
	for n := 1; sc.Scan(); n++ {
		var l chainLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			res.problem("%s: line %d: %v", name, n, err)
			return
		}
		digest := l.Digest
		if l.Event != nil {
			digest = l.Event.Digest()
			res.Events++
		}
		switch {
		case n == 1 && l.Event == nil:
			res.problem("%s: line 1 is not an event", name)
			return
		case n == 1:
			hash = l.Event.PrevHash
		case l.Seq != seq+1:
			res.problem("%s: line %d: event %d follows event %d: events removed or reordered", name, n, l.Seq, seq)
			return
		}
		if l.Event != nil && l.Event.Seq != l.Seq {
			res.problem("%s: line %d: event %d on the line of event %d", name, n, l.Event.Seq, l.Seq)
			return
		}
		seq, hash = l.Seq, store.ChainLink(hash, digest)
		if l.Event != nil && l.Event.Hash != hash {
			res.problem("%s: line %d: event %d was altered: it does not hash to its place in the chain", name, n, l.Seq)
			return
		}
		if cp != nil && seq == cp.Seq && hash != cp.Hash {
			res.problem("%s: the chain does not reach the signed checkpoint at event %d: events were altered", name, cp.Seq)
			return
		}
	}
	if err := sc.Err(); err != nil {
		res.problem("%s: %v", name, err)
		return
	}
	if cp != nil && seq < cp.Seq {
		res.problem("%s: ends at event %d, before the signed checkpoint at event %d: events were removed", name, seq, cp.Seq)
	}
}
