package masking

// E-mail addresses: a local part of 1-64 characters from [A-Za-z0-9._%+-]
// starting with a letter or digit, '@', and a domain of at least two labels
// whose last label (the TLD) has only letters. Host names that are not
// mail domains are left alone: TLDs reserved for private networks
// (".internal", ".local", ...) and "user@host:path" as written by ssh, scp
// and shell prompts. The first character of the local part stays visible:
// it is emitted before the '@' that makes it part of an address, so that an
// echoed letter is never held back.

// nonMailTLDs are top-level labels of names that are not mail domains.
var nonMailTLDs = []string{"arpa", "corp", "home", "internal", "intranet", "lan", "local", "localdomain", "localhost", "private",
	"example", "invalid", "test"} // and the reserved names of RFC 2606

// localPart returns the start of the local part ending before the '@' at
// b[at]. It reads at most 65 bytes back, all within the kept look-back.
func localPart(b []byte, at int) (int, bool) {
	j := at - 1
	for j >= 0 && at-j <= 65 && kinds[b[j]]&kLocal != 0 {
		j--
	}
	start := j + 1
	if n := at - start; n < 1 || n > 64 || !isAlnum(b[start]) || b[at-1] == '.' {
		return 0, false
	}
	return start, true
}

// evalEmail matches the address whose '@' is at b[at] and whose local part
// starts at start.
func (s *Stream) evalEmail(t *text, at, start int) {
	j := at + 1
	for kinds[t.at(j)]&kDomain != 0 {
		j++
		if j-at > 254 {
			return
		}
	}
	e := j
	for e > at+1 && (t.b[e-1] == '.' || t.b[e-1] == '-') {
		e--
	}
	if !mailDomain(t.b[at+1 : e]) {
		return
	}
	if e == j {
		switch c := t.at(j); c {
		case '_', '@':
			return
		case ':':
			if n := t.at(j + 1); n > ' ' {
				return // user@host:path
			}
		}
	}
	s.add(recEmail, start+1, e, start)
}

// mailDomain reports whether d is a plausible mail domain.
func mailDomain(d []byte) bool {
	if len(d) > 253 {
		return false
	}
	labels := 0
	last := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		l := d[last:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		if i == len(d) {
			if len(l) < 2 {
				return false
			}
			for _, c := range l {
				if !isAlpha(c) {
					return false
				}
			}
			for _, n := range nonMailTLDs {
				if eqLower(l, n) {
					return false
				}
			}
		}
		last = i + 1
	}
	return labels >= 2
}

// eqLower reports whether b equals the lower-case s, ignoring ASCII case.
func eqLower(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}
