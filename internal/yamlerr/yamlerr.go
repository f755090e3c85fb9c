// Package yamlerr rewrites the decoding errors of go.yaml.in/yaml/v3 in
// the words of the file's author: the line, the field as written in YAML,
// what was expected in plain terms (never a Go type name), and "did you
// mean" for a misspelt field.
package yamlerr

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	unknownField = regexp.MustCompile("^line (\\d+): field (.+) not found in type (\\S+)$")
	wrongType    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// Explain returns err rewritten when it is a yaml.TypeError (the decoder
// read the document but some values did not fit root, the type decoded
// into); other errors come back without yaml's "yaml: " prefix. src is
// the document, for the field name on a line.
func Explain(err error, src []byte, root reflect.Type) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if err == nil {
			return nil
		}
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	fields := map[string][]string{}
	collectFields(root, fields)
	lines := strings.Split(string(src), "\n")
	var out []string
	for _, msg := range te.Errors {
		out = append(out, explainOne(msg, lines, fields))
	}
	return errors.New(strings.Join(out, "; "))
}

func explainOne(msg string, lines []string, fields map[string][]string) string {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		s := fmt.Sprintf("line %s: unknown field %q", m[1], m[2])
		if near := closest(m[2], fields[m[3]]); near != "" {
			s += fmt.Sprintf(" (did you mean %q?)", near)
		} else if known := fields[m[3]]; len(known) > 0 {
			s += " (known here: " + strings.Join(known, ", ") + ")"
		}
		return s
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		got := m[3]
		switch {
		case m[2] == "seq":
			got = "a list"
		case m[2] == "map":
			got = "a mapping"
		default:
			got = strconv.Quote(got)
		}
		s := "line " + m[1] + ": "
		if key := keyOnLine(lines, n); key != "" {
			s += key + ": "
		}
		return s + "want " + expected(m[4]) + ", got " + got
	}
	return msg
}

// keyOnLine is the YAML key on line n (1-based), "" if none.
func keyOnLine(lines []string, n int) string {
	if n < 1 || n > len(lines) {
		return ""
	}
	l := strings.TrimSpace(lines[n-1])
	l = strings.TrimSpace(strings.TrimPrefix(l, "- "))
	key, _, ok := strings.Cut(l, ":")
	if !ok || strings.ContainsAny(key, " {[\"'") {
		return ""
	}
	return key
}

// expected names a Go type as the value a person writes.
func expected(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case t == "time.Duration":
		return "a duration such as 15m or 20s"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a single value"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping of fields"
	}
	return "another kind of value"
}

// collectFields maps each struct type reachable from t (as yaml names it,
// e.g. "config.Limits") to its YAML field names.
func collectFields(t reflect.Type, out map[string][]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || out[t.String()] != nil {
		return
	}
	out[t.String()] = []string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[t.String()] = append(out[t.String()], name)
		collectFields(f.Type, out)
	}
}

// closest is the known name within two edits of name (a typo), else one
// that contains it (a shortened name); "" if none is near.
func closest(name string, known []string) string {
	best, bestDist := "", 3 // more than two edits is not a typo
	for _, k := range known {
		if d := distance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" && len(name) >= 3 {
		for _, k := range known {
			if strings.Contains(k, name) {
				return k
			}
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Line returns the line of the field at path in src, a dotted path with
// list indexes as config errors name fields ("targets[1].address"): the
// line of its key, or of the list item. 0 when the document does not
// parse or has no such field (a missing field has no line to show).
func Line(src []byte, path string) int {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n, line := doc.Content[0], 0
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			if n, line = mappingValue(n, key); n == nil {
				return 0
			}
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return 0
			}
			n, line = n.Content[i], n.Content[i].Line
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return line
}

// mappingValue is the value of key in mapping n, and the key's line.
func mappingValue(n *yaml.Node, key string) (*yaml.Node, int) {
	if n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], n.Content[i].Line
		}
	}
	return nil, 0
}
