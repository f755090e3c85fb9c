package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

const readmePath = "../README.md"

// readmeHeadings are sections other parts of the project and the docs
// point at; each must render as a heading, not inside a code block.
var readmeHeadings = []string{
	"bastion", "Quick tour", "Production", "Quick start", "Configuration reference",
	"Certificates from OIDC", "Policy", "Monitoring", "Commands", "Exit codes",
	"What is recorded, and where", "PHI masking", "File transfers", "Layout", "Testing",
	"Known limits", "Vault signer", "Behind a load balancer",
}

func parseReadme(t *testing.T) ([]byte, ast.Node) {
	t.Helper()
	src, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	return src, md.Parser().Parse(text.NewReader(src))
}

// TestReadmeRenders parses README.md as GitHub does (goldmark with GFM):
// every expected section is a heading, no heading line hides inside a
// code block, and every code fence is closed by a fence of its own.
func TestReadmeRenders(t *testing.T) {
	src, doc := parseReadme(t)
	var headings []string
	fenced := 0
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			headings = append(headings, string(n.Lines().Value(src)))
		case *ast.FencedCodeBlock:
			fenced++
			body := string(n.Lines().Value(src))
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "### ") {
					t.Errorf("heading %q renders inside a code block", line)
				}
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range readmeHeadings {
		if !slices.Contains(headings, h) {
			t.Errorf("README.md: %q is not a heading (headings: %q)", h, headings)
		}
	}
	// A fence line is ``` with at most an info word. A line that opens a
	// fence but carries prose (the bug this test was written for) is not
	// one, and leaves an odd number of fence lines.
	fenceLine := regexp.MustCompile("(?m)^ {0,3}```[A-Za-z0-9_-]*[ \t]*$")
	if n := len(fenceLine.FindAll(src, -1)); n != 2*fenced {
		t.Errorf("README.md has %d fence lines for %d fenced blocks: a fence is unbalanced or has text after it", n, fenced)
	}
}

// configFields lists every YAML field of the config, as dotted paths with
// [] for list items (targets[].name), by walking the types' yaml tags.
func configFields(t reflect.Type, prefix string, out *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		elem, sep := f.Type, "."
		if elem.Kind() == reflect.Slice {
			elem, sep = elem.Elem(), "[]."
		}
		if elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Struct {
			configFields(elem, prefix+tag+sep, out)
			continue
		}
		*out = append(*out, prefix+tag)
	}
}

// TestReadmeDocumentsEveryConfigField: each config field has a row in the
// README's configuration reference, and each row names a real field.
func TestReadmeDocumentsEveryConfigField(t *testing.T) {
	src, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(src), "### Configuration reference")
	if !ok {
		t.Fatal("README.md has no Configuration reference section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9_.\\[\\]]+)` \\|").FindAllStringSubmatch(section, -1)
	documented := map[string]bool{}
	for _, r := range rows {
		documented[r[1]] = true
	}
	var fields []string
	configFields(reflect.TypeOf(Config{}), "", &fields)
	for _, f := range fields {
		if !documented[f] {
			t.Errorf("config field %s is not in README.md's Configuration reference", f)
		}
		delete(documented, f)
	}
	for f := range documented {
		t.Errorf("README.md documents %s, which is not a config field", f)
	}
}
