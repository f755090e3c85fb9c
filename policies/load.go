package policies

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/bastion-ssh/bastion/internal/yamlerr"
	"github.com/bastion-ssh/bastion/masking"
)

// ErrInvalid is wrapped by every validation error, so callers can tell a bad
// policy from an unreadable one.
var ErrInvalid = errors.New("invalid policy")

// Load reads and validates the policy file at path.
func Load(file string) (*Policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policies: %s: %w", file, err)
	}
	return p, nil
}

// Parse decodes and validates a policy document. Unknown fields are errors:
// a misspelt key in a security policy must not be silently ignored.
func Parse(data []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, yamlerr.Explain(err, data, reflect.TypeOf(p)))
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Policy) validate() error {
	names := map[string]bool{}
	for i, r := range p.Access {
		field := fmt.Sprintf("access[%d]", i)
		if r.Name == "" {
			return fmt.Errorf("%w: %s.name: missing", ErrInvalid, field)
		}
		if names[r.Name] {
			return fmt.Errorf("%w: %s.name: duplicate rule name %q", ErrInvalid, field, r.Name)
		}
		names[r.Name] = true
		if len(r.Identities) == 0 && len(r.Groups) == 0 {
			return fmt.Errorf("%w: %s (%s): needs identities or groups", ErrInvalid, field, r.Name)
		}
		if len(r.Targets) == 0 {
			return fmt.Errorf("%w: %s (%s).targets: missing", ErrInvalid, field, r.Name)
		}
		if len(r.Logins) == 0 {
			return fmt.Errorf("%w: %s (%s).logins: missing", ErrInvalid, field, r.Name)
		}
		if err := checkPatterns(field+".targets", r.Targets); err != nil {
			return err
		}
		if err := checkPatterns(field+".logins", r.Logins); err != nil {
			return err
		}
		if err := checkInteractive(field, r.Interactive); err != nil {
			return err
		}
	}
	if err := checkPatterns("env_allow", p.EnvAllow); err != nil {
		return err
	}
	if err := p.checkCommandEnv(); err != nil {
		return err
	}
	if err := p.Files.validate(); err != nil {
		return err
	}
	if err := p.Commands.validate(); err != nil {
		return err
	}
	// Compile the masking rules once with a throwaway key: a bad pattern is
	// a policy error now, not a failed session later.
	if _, err := masking.New(p.Masking, make([]byte, 32)); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

func checkPatterns(field string, patterns []string) error {
	for _, pat := range patterns {
		if pat == "" {
			return fmt.Errorf("%w: %s: empty pattern", ErrInvalid, field)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("%w: %s: bad pattern %q: %v", ErrInvalid, field, pat, err)
		}
	}
	return nil
}
