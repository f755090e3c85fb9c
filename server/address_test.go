package server

import (
	"errors"
	"strings"
	"testing"
)

var addressCases = []struct {
	user   string
	want   Address
	reject bool
}{
	{user: "postgres@db-1", want: Address{Login: "postgres", Target: "db-1"}},
	{user: "db-1", want: Address{Target: "db-1"}},
	{user: "svc_app.2@web.prod-3", want: Address{Login: "svc_app.2", Target: "web.prod-3"}},
	{user: "", reject: true},
	{user: "a@b@c", reject: true},
	{user: "@db", reject: true},
	{user: "root@", reject: true},
	{user: "-oProxyCommand@db", reject: true},
	{user: "root@-db", reject: true},
	{user: "root;id@db", reject: true},
	{user: "root@db\nFAKE LOG LINE", reject: true},
	{user: "root@db\x1b[2J", reject: true},
	{user: strings.Repeat("a", 33) + "@db", reject: true},
	{user: "root@" + strings.Repeat("d", 300), reject: true},
	{user: "röot@db", reject: true},
}

func TestParseAddress(t *testing.T) {
	for _, c := range addressCases {
		t.Run(c.user, func(t *testing.T) {
			got, err := ParseAddress(c.user)
			if c.reject {
				if !errors.Is(err, ErrBadUsername) {
					t.Errorf("ParseAddress(%q) = %+v, %v; want ErrBadUsername", c.user, got, err)
				}
				if err != nil && strings.ContainsAny(err.Error(), "\n\x1b") {
					t.Errorf("error text carries control characters: %q", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", c.user, got, err, c.want)
			}
		})
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, c := range addressCases {
		f.Add(c.user)
	}
	f.Fuzz(func(t *testing.T, user string) {
		a, err := ParseAddress(user)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r\x1b") {
				t.Fatalf("control characters in error: %q", err)
			}
			return
		}
		// Whatever is accepted is safe to log and to match in policy.
		if !validTarget(a.Target) || (a.Login != "" && !validLogin(a.Login)) {
			t.Fatalf("accepted %q as %+v", user, a)
		}
	})
}
