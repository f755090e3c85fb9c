package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// manifestName is the bundle's last member, which vouches for all others.
const manifestName = "MANIFEST.json"

// manifestType names the statement, so its signature cannot pass for
// another kind of statement signed by the same key.
const manifestType = "bastion.evidence.manifest.v1"

// fileEntry is one member as the manifest lists it.
type fileEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// bundleManifest is the stored form of MANIFEST.json.
type bundleManifest struct {
	Type      string      `json:"type"`
	Created   string      `json:"created"`
	Key       string      `json:"key"` // base64 Ed25519 public key
	Files     []fileEntry `json:"files"`
	Signature string      `json:"signature,omitempty"`
}

// signed returns the canonical encoding the signature covers: the manifest
// without its signature, keys sorted (encoding/json sorts map keys), no
// white space: the JCS (RFC 8785) form, since every string in it is ASCII
// (paths are checked to be) and sizes are integers.
func (m bundleManifest) signed() ([]byte, error) {
	files := make([]map[string]any, len(m.Files))
	for i, f := range m.Files {
		files[i] = map[string]any{"path": f.Path, "sha256": f.SHA256, "size": f.Size}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(map[string]any{"type": m.Type, "created": m.Created, "key": m.Key, "files": files})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// sign fills in the signature.
func (m *bundleManifest) sign(key ed25519.PrivateKey) error {
	m.Type = manifestType
	m.Key = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	msg, err := m.signed()
	if err != nil {
		return err
	}
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
	return nil
}

// errManifest is wrapped by every failure of MANIFEST.json itself.
var errManifest = errors.New(manifestName)

// openManifest parses MANIFEST.json and checks its signature by pub.
func openManifest(data []byte, pub ed25519.PublicKey) (bundleManifest, error) {
	var m bundleManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Type != manifestType {
		return m, fmt.Errorf("%w: not a %s (%v)", errManifest, manifestType, err)
	}
	if m.Key != base64.StdEncoding.EncodeToString(pub) {
		return m, fmt.Errorf("keys/signing_key.pub does not hold the key that signed %s (%s): one of them was altered", manifestName, m.Key)
	}
	msg, err := m.signed()
	if err != nil {
		return m, fmt.Errorf("%w: %v", errManifest, err)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || !ed25519.Verify(pub, msg, sig) {
		return m, fmt.Errorf("%w: the signature does not verify: the manifest was altered", errManifest)
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		return m, fmt.Errorf("%w: creation time %q", errManifest, m.Created)
	}
	return m, nil
}
