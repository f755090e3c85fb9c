package replay

import (
	"net"
	"net/http"
	"strings"
)

// AllowHosts serves only requests whose Host header names one of hosts
// (host:port, compared case-insensitively), and answers others 421
// Misdirected Request. A page on another site can make the auditor's
// browser resolve its own name to 127.0.0.1 (DNS rebinding) and read a
// loopback server; the browser still sends that name as Host, so checking
// it keeps such pages out.
func AllowHosts(next http.Handler, hosts ...string) http.Handler {
	allowed := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "misdirected request: unknown Host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ListenHosts returns the Host values a browser sends for a server on ln's
// address: the address itself and, on loopback, localhost with its port.
func ListenHosts(addr net.Addr) []string {
	hostport := addr.String()
	hosts := []string{hostport}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hosts
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		hosts = append(hosts, net.JoinHostPort("localhost", port))
	}
	return hosts
}
