package replay

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAllowHosts(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8123}
	h := AllowHosts(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }),
		ListenHosts(addr)...)
	for host, want := range map[string]int{
		"127.0.0.1:8123":    http.StatusOK,
		"LOCALHOST:8123":    http.StatusOK,
		"evil.example:8123": http.StatusMisdirectedRequest, // a rebound name
		"127.0.0.1":         http.StatusMisdirectedRequest,
		"127.0.0.1:9999":    http.StatusMisdirectedRequest,
		"":                  http.StatusMisdirectedRequest,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: status %d, want %d", host, w.Code, want)
		}
	}
}
