package config

import (
	"net"
	"net/netip"
)

// Diagnostics serves Prometheus metrics and Go's profiler over plain HTTP.
// Profiles and goroutine dumps describe the process's memory, so the
// listener must be a loopback address: reach it over an SSH tunnel or a
// local scraper, never from the network.
type Diagnostics struct {
	// Listen is a loopback host:port, e.g. "127.0.0.1:9100". Empty: off.
	Listen string `yaml:"listen"`
	// Pprof also serves /debug/pprof/ (off by default).
	Pprof bool `yaml:"pprof"`
}

func (c *Config) validateDiagnostics() error {
	d := c.Diagnostics
	if d.Listen == "" {
		if d.Pprof {
			return invalid("diagnostics.pprof", "needs diagnostics.listen")
		}
		return nil
	}
	host, _, err := net.SplitHostPort(d.Listen)
	if err != nil {
		return invalid("diagnostics.listen", "want host:port, got %q", d.Listen)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return invalid("diagnostics.listen", "%q is not a loopback address; metrics and profiles are served without authentication", host)
	}
	return nil
}
