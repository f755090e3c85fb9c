package policies

import (
	"reflect"
	"testing"
)

func TestReachable(t *testing.T) {
	p, err := Parse([]byte(`
access:
  - {name: dba, groups: [dba], targets: ["db-*"], logins: [postgres]}
  - {name: alice, identities: [alice@example.com], targets: ["*"], logins: [deploy]}
  - {name: ops-db, groups: [ops], targets: [db-1], logins: ["app-*", postgres]}
`))
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"db-1", "db-2", "web-1"}
	for _, c := range []struct {
		name     string
		identity string
		groups   []string
		want     []Reach
	}{
		{"group", "bob@example.com", []string{"dba"}, []Reach{{"db-1", []string{"postgres"}}, {"db-2", []string{"postgres"}}}},
		{"identity-and-groups", "alice@example.com", []string{"ops"}, []Reach{
			{"db-1", []string{"deploy", "app-*", "postgres"}}, {"db-2", []string{"deploy"}}, {"web-1", []string{"deploy"}}}},
		{"nothing", "eve@example.com", []string{"guests"}, nil},
		{"no-identity", "", []string{"dba"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := p.Reachable(c.identity, c.groups, targets); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Reachable = %v, want %v", got, c.want)
			}
		})
	}
}
