package masking

import "net/netip"

// IPv6 addresses are runs of hexadecimal digits, colons and dots (for an
// embedded IPv4 address) that net/netip parses as an IPv6 address, with at
// least two colons and a hexadecimal digit. Time stamps and MAC addresses do
// not parse; "a::b" does, which is why the recognizer is off by default.

// ipv6Left reports whether an IPv6 address may start after c.
func ipv6Left(c byte) bool {
	return !isWordish(c) && c != ':' && c != '.'
}

// evalIPv6 matches an IPv6 address at b[i].
func (s *Stream) evalIPv6(t *text, i int) {
	j := i
	colons, hex := 0, false
	for {
		c := t.at(j)
		if c == ':' {
			colons++
		} else if kinds[c]&kHex != 0 {
			hex = true
		} else if c != '.' {
			break
		}
		j++
		if j-i > 45 {
			return
		}
	}
	if isWordish(t.at(j)) {
		return
	}
	e := j
	for e > i && t.b[e-1] == '.' {
		e--
	}
	if colons < 2 || !hex {
		return
	}
	a, err := netip.ParseAddr(string(t.b[i:e]))
	if err != nil || !a.Is6() {
		return
	}
	s.add(recIPv6, i, e, i)
}
