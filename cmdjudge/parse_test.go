package cmdjudge

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

func parses(line string) bool {
	_, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(line), "")
	return err == nil
}
