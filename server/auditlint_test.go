package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// No audit error is ignored in this package: an action whose record cannot
// be written must not happen, so every call of a function that writes an
// audit record and returns an error must use that error. This fails on
// `_ = s.audit(...)`, on a bare `s.audit(...)` statement, and on `go` or
// `defer` of one.
func TestNoAuditErrorIgnored(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	// Functions and methods named audit* that return an error, and the
	// store's Audit.
	writers := map[string]bool{"Audit": true}
	for _, f := range parsed {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(strings.ToLower(fn.Name.Name), "audit") || fn.Type.Results == nil {
				continue
			}
			for _, r := range fn.Type.Results.List {
				if id, ok := r.Type.(*ast.Ident); ok && id.Name == "error" {
					writers[fn.Name.Name] = true
				}
			}
		}
	}
	if !writers["audit"] || !writers["auditSFTP"] {
		t.Fatalf("audit writers not found: %v", writers)
	}
	isWriter := func(e ast.Expr) bool {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			return writers[fn.Name]
		case *ast.SelectorExpr:
			return writers[fn.Sel.Name]
		}
		return false
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			var bad ast.Expr
			switch s := n.(type) {
			case *ast.ExprStmt:
				if isWriter(s.X) {
					bad = s.X
				}
			case *ast.AssignStmt:
				blank := true
				for _, l := range s.Lhs {
					if id, ok := l.(*ast.Ident); !ok || id.Name != "_" {
						blank = false
					}
				}
				for _, r := range s.Rhs {
					if blank && isWriter(r) {
						bad = r
					}
				}
			case *ast.GoStmt:
				if isWriter(s.Call) {
					bad = s.Call
				}
			case *ast.DeferStmt:
				if isWriter(s.Call) {
					bad = s.Call
				}
			}
			if bad != nil {
				t.Errorf("%s: audit error ignored", fset.Position(bad.Pos()))
			}
			return true
		})
	}
}
