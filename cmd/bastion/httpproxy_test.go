package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/internal/proxyrelay"
)

// The certificate API sees the client a trusted balancer names, and
// nobody else can name one: an untrusted sender's header, or a trusted
// balancer's connection without one, reaches no handler.
func TestCertificateAPIProxyHeader(t *testing.T) {
	claimed := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 4444}
	for _, tc := range []struct {
		name    string
		trusted string // the balancers; "" none
		relay   *proxyrelay.Options
		want    string // the address the handler sees; "" refused
	}{
		{"trusted-balancer-header-believed", "127.0.0.1", &proxyrelay.Options{Source: claimed}, "203.0.113.7:4444"},
		{"untrusted-sender-header-refused", "10.0.0.5", &proxyrelay.Options{Source: claimed}, ""},
		{"header-refused-when-nobody-is-trusted", "", &proxyrelay.Options{Source: claimed}, ""},
		{"trusted-balancer-without-header-refused", "127.0.0.0/8", &proxyrelay.Options{NoHeader: true}, ""},
		{"direct-client-served-as-itself", "10.0.0.5", nil, "127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var trusted []netip.Prefix
			if tc.trusted != "" {
				p, err := netip.ParsePrefix(tc.trusted)
				if err != nil {
					p = netip.PrefixFrom(netip.MustParseAddr(tc.trusted), 32)
				}
				trusted = append(trusted, p)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			reached := make(chan string, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached <- r.RemoteAddr
				io.WriteString(w, r.RemoteAddr)
			}))
			srv.Listener.Close()
			srv.Listener = proxyListener(ln, trusted)
			srv.Config.ErrorLog = nil
			srv.StartTLS()
			t.Cleanup(srv.Close)
			url := srv.URL
			if tc.relay != nil {
				r, err := proxyrelay.Start(ln.Addr().String(), *tc.relay)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				url = "https://" + r.Addr()
			}
			resp, err := srv.Client().Get(url + "/v1/targets")
			if tc.want == "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("served: %s", resp.Status)
				}
				select {
				case got := <-reached:
					t.Fatalf("a refused connection reached the handler as %s", got)
				default:
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if !strings.HasPrefix(string(body), tc.want) {
				t.Errorf("the handler saw %q; want %s", body, tc.want)
			}
		})
	}
}
