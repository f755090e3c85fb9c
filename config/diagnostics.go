package config

import (
	"fmt"
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
	// HealthListen is a host:port, on any address, serving only /healthz
	// and /readyz, for a load balancer on another machine. Empty: off
	// (both are also on Listen).
	HealthListen string `yaml:"health_listen"`
}

func (c *Config) validateDiagnostics() error {
	d := c.Diagnostics
	if d.HealthListen != "" {
		if _, _, err := net.SplitHostPort(d.HealthListen); err != nil {
			return invalid("diagnostics.health_listen", "want host:port, got %q", d.HealthListen)
		}
	}
	if d.Listen == "" {
		if d.Pprof {
			return invalid("diagnostics.pprof", "needs diagnostics.listen")
		}
		return nil
	}
	if err := RequireLoopback(d.Listen); err != nil {
		return invalid("diagnostics.listen", "%v; metrics and profiles are served without authentication", err)
	}
	return nil
}

// RequireLoopback accepts host:port on a loopback address or localhost,
// for listeners that serve without authentication.
func RequireLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", hostport)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", host)
	}
	return nil
}
