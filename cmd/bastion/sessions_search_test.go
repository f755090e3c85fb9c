package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

func TestSessionsSearch(t *testing.T) {
	d := newTestData(t)
	d.session(t, "first", true)
	d.session(t, "second", false)
	cases := []struct {
		text string
		want []string
		n    string
	}{
		{"row-for-second", []string{"second", "at 0s  row-for-second"}, "1 sessions matched"},
		{"select 1", []string{"first", "second", "in the command line"}, "2 sessions matched"},
		{"nothing like it", nil, "0 sessions matched"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"sessions", "search", "--data", d.dir, c.text}, &out, &out); err != nil {
			t.Fatal(err)
		}
		for _, w := range append(c.want, c.n) {
			if !strings.Contains(out.String(), w) {
				t.Errorf("search %q: output lacks %q:\n%s", c.text, w, out.String())
			}
		}
	}
	evs, _ := d.st.Events(t.Context(), store.EventFilter{Type: "recording.search"})
	if len(evs) != len(cases) || strings.Contains(evs[0].Reason+evs[0].Identity, "row-for") {
		t.Errorf("search audit events: %+v", evs)
	}
}
