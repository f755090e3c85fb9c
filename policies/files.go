package policies

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// FileAction is what the bastion does with a file that an sftp or scp
// client opens.
type FileAction string

const (
	// FilePass streams the file through unchanged.
	FilePass FileAction = "pass"
	// FileMask serves the file's content PHI-masked. Uploads pass.
	FileMask FileAction = "mask"
	// FileBlock refuses reading, writing and listing the path.
	FileBlock FileAction = "block"
)

// DefaultMaxMaskedFile bounds a masked download when max_masked_file is
// not set: a masked file is held in memory while it is served.
const DefaultMaxMaskedFile = 64 << 20

// Files holds the file transfer rules for sftp (and scp, which speaks
// sftp). The zero value passes every file, as if there were no rules.
type Files struct {
	// Default is the action for a path no rule matches; empty means pass.
	Default FileAction `yaml:"default"`
	// Rules are evaluated in order; the first whose pattern matches the
	// cleaned absolute path decides.
	Rules []FileRule `yaml:"rules"`
	// MaxMaskedFile is the largest file served masked, as a byte count
	// with an optional unit (B, KB, MB, GB, KiB, MiB, GiB). Empty means
	// DefaultMaxMaskedFile. A larger file is refused, not passed.
	MaxMaskedFile string `yaml:"max_masked_file"`
}

// FileRule applies Action to the paths Path matches. Path is a shell-style
// pattern over the absolute path ("*" within one segment, "**" across any
// number of segments, "{a,b}" alternatives), matched case-sensitively.
type FileRule struct {
	Path   string     `yaml:"path"`
	Action FileAction `yaml:"action"`
}

// FileDecision is the outcome of Files.Decide. Rule names what decided,
// for the audit log: "files.rules[N] PATTERN" or "files.default".
type FileDecision struct {
	Action FileAction
	Rule   string
}

// Enabled reports whether any file rule is in force: a rule, or a default
// other than pass. Without one, sftp is passed through unparsed.
func (f *Files) Enabled() bool {
	return f != nil && (len(f.Rules) > 0 || f.defaultAction() != FilePass)
}

// Decide returns the action for a remote path. The path is cleaned and
// made absolute first, so "/data/./phi/../phi/x" and "/data/phi/x" are
// one path.
func (f *Files) Decide(p string) FileDecision {
	if f == nil {
		return FileDecision{Action: FilePass, Rule: "files.default"}
	}
	p = path.Clean("/" + p)
	for i, r := range f.Rules {
		if ok, _ := doublestar.Match(r.Path, p); ok { // patterns are validated at load
			return FileDecision{Action: r.Action, Rule: fmt.Sprintf("files.rules[%d] %s", i, r.Path)}
		}
	}
	return FileDecision{Action: f.defaultAction(), Rule: "files.default"}
}

// MaxMasked returns the masked download limit in bytes.
func (f *Files) MaxMasked() int64 {
	if f == nil || f.MaxMaskedFile == "" {
		return DefaultMaxMaskedFile
	}
	n, err := parseByteSize(f.MaxMaskedFile)
	if err != nil || n <= 0 {
		return DefaultMaxMaskedFile // unreachable for a validated policy
	}
	return n
}

// Stricter returns whichever of a and b is stricter (block, then mask,
// then pass); a on a tie.
func Stricter(a, b FileDecision) FileDecision {
	if b.Action.rank() > a.Action.rank() {
		return b
	}
	return a
}

// Weakens reports whether content governed by from would become readable
// under the less strict to: renaming or linking a masked file into a pass
// path would serve it unmasked.
func Weakens(from, to FileDecision) bool {
	return from.Action.rank() > to.Action.rank()
}

func (a FileAction) rank() int {
	switch a {
	case FilePass, "":
		return 0
	case FileMask:
		return 1
	}
	return 2 // block, and anything unknown: fail closed
}

func (f *Files) defaultAction() FileAction {
	if f.Default == "" {
		return FilePass
	}
	return f.Default
}

func (f *Files) validate() error {
	if err := checkAction("files.default", f.Default, true); err != nil {
		return err
	}
	for i, r := range f.Rules {
		field := fmt.Sprintf("files.rules[%d]", i)
		switch {
		case r.Path == "":
			return fmt.Errorf("%w: %s.path: missing", ErrInvalid, field)
		case !strings.HasPrefix(r.Path, "/") && !strings.HasPrefix(r.Path, "**"):
			return fmt.Errorf("%w: %s.path: %q is relative; patterns match absolute paths, so start with / or **", ErrInvalid, field, r.Path)
		case !doublestar.ValidatePattern(r.Path):
			return fmt.Errorf("%w: %s.path: bad pattern %q", ErrInvalid, field, r.Path)
		}
		if err := checkAction(field+".action", r.Action, false); err != nil {
			return err
		}
	}
	if f.MaxMaskedFile != "" {
		n, err := parseByteSize(f.MaxMaskedFile)
		if err != nil {
			return fmt.Errorf("%w: files.max_masked_file: %v", ErrInvalid, err)
		}
		if n <= 0 {
			return fmt.Errorf("%w: files.max_masked_file: must be more than 0", ErrInvalid)
		}
	}
	return nil
}

func checkAction(field string, a FileAction, optional bool) error {
	switch a {
	case FilePass, FileMask, FileBlock:
		return nil
	case "":
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s: missing (pass, mask or block)", ErrInvalid, field)
	}
	return fmt.Errorf("%w: %s: %q is not pass, mask or block", ErrInvalid, field, a)
}

// byteUnits are the size suffixes parseByteSize accepts, longest first so
// that "MiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	n      int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// parseByteSize reads "64MiB", "10 MB", "4096" or "4096B".
func parseByteSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (a whole number with an optional unit: B, KB, MB, GB, KiB, MiB, GiB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
