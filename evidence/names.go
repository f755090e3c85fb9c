package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// maxMemberName bounds member names; ids and file names are short.
const maxMemberName = 255

// checkMemberName accepts relative slash-separated names of safe
// characters: a bundle member can never name a path outside the folder
// it is unpacked into.
func checkMemberName(name string) error {
	if name == "" || len(name) > maxMemberName || strings.HasPrefix(name, "/") {
		return fmt.Errorf("evidence: bad member name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("evidence: bad member name %q", name)
		}
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
			return fmt.Errorf("evidence: bad member name %q", name)
		}
	}
	return nil
}

// safeID reports whether a session id can name a folder of the bundle.
func safeID(id string) bool {
	return id != "" && !strings.Contains(id, "/") && checkMemberName("sessions/"+id) == nil
}

// marshalIndent encodes v as indented JSON without HTML escaping.
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
