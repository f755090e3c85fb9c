package yamlerr

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type limits struct {
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	DialTimeout      time.Duration `yaml:"dial_timeout"`
}

type doc struct {
	Listen  string   `yaml:"listen"`
	Limits  limits   `yaml:"limits"`
	Enabled bool     `yaml:"enabled"`
	Names   []string `yaml:"names"`
}

func decode(src string) error {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	var d doc
	return Explain(dec.Decode(&d), []byte(src), reflect.TypeOf(d))
}

func TestExplain(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
		not       []string
	}{
		{"typo", "listn: x\n", []string{`line 1: unknown field "listn" (did you mean "listen"?)`}, nil},
		{"nested-typo", "limits:\n  dial_timout: 3s\n", []string{`line 2: unknown field "dial_timout" (did you mean "dial_timeout"?)`}, nil},
		{"no-near-name", "zzzzzz: 1\n", []string{`unknown field "zzzzzz" (known here: listen, limits, enabled, names)`}, nil},
		{"duration", "limits:\n  handshake_timeout: abc\n", []string{`line 2: handshake_timeout: want a duration such as 15m or 20s, got "abc"`}, []string{"time.Duration"}},
		{"bool", "enabled: maybe\n", []string{`line 1: enabled: want true or false, got "maybe"`}, []string{"bool"}},
		{"list-for-value", "listen: [a, b]\n", []string{`line 1: listen: want a single value, got a list`}, nil},
		{"mapping-for-list", "names: {a: 1}\n", []string{`line 1: names: want a list, got a mapping`}, []string{"[]string"}},
		{"several", "listn: x\nenabled: maybe\n", []string{`did you mean "listen"`, `enabled: want true or false`}, nil},
		{"syntax", "listen: [\n", []string{"line"}, []string{"yaml: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := decode(c.src)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, n := range append(c.not, "not found in type", "unmarshal") {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q still says %q", err, n)
				}
			}
		})
	}
}

func FuzzExplain(f *testing.F) {
	for _, s := range []string{"listn: x\n", "limits:\n  handshake_timeout: abc\n", "names: {a: 1}\n", "- : :\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_ = decode(src) // never panics
	})
}

func TestLine(t *testing.T) {
	src := []byte(`listen: x
limits:
  dial_timeout: 3s
targets:
  - name: a
    address: here
  - name: b
    credential:
      type: key
`)
	for path, want := range map[string]int{
		"listen":                      1,
		"limits.dial_timeout":         3,
		"targets[0].address":          6,
		"targets[1]":                  7,
		"targets[1].credential.type":  9,
		"targets[1].credential.nokey": 0, // a missing field has no line
		"targets[5].name":             0,
		"http.listen":                 0,
	} {
		if got := Line(src, path); got != want {
			t.Errorf("Line(%s) = %d, want %d", path, got, want)
		}
	}
	if Line([]byte("a: [\n"), "a") != 0 {
		t.Error("a document that does not parse has no lines")
	}
}
