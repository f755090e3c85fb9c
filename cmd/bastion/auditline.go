package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/bastion-ssh/bastion/store"
)

// auditTimeFormat shows the zone: a line read next to another machine's
// log, or by someone in another zone, must say which clock it is.
const auditTimeFormat = "2006-01-02 15:04:05 -07:00"

// auditLine is one event as text: the columns, the reason, then the
// event's target and every detail (paths, exit status, viewer, command,
// rule, ...) as key=value, in key order, each value rendered by raw.
func auditLine(e store.Event, raw display) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6d %s %-24s %-8s %-20s %-16s %s", e.Seq, e.At.Local().Format(auditTimeFormat),
		raw.s(e.Type), raw.s(e.Outcome), raw.s(e.Identity), raw.s(e.SessionID), raw.s(e.Reason))
	field := func(k, v string) {
		fmt.Fprintf(&b, " %s=%s", raw.s(k), quoteValue(raw.s(v)))
	}
	if e.Target != "" {
		t := e.Target
		if e.Login != "" {
			t = e.Login + "@" + e.Target
		}
		field("target", t)
	}
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k, detailText(e.Detail[k]))
	}
	return b.String()
}

// detailText is a detail value as text: strings as they are, anything
// else (numbers, lists, objects) as JSON.
func detailText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(j)
}

// quoteValue puts a value with blanks, quotes or = in double quotes, so
// that where it ends is plain; quotes inside are escaped.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \"=") {
		return v
	}
	return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
}
