package bytescan

// A byteSet is a set of byte values held as two 16-byte tables indexed by
// the low nibble, the layout the vector code looks bytes up in with PSHUFB
// (the "truffle" technique of Hyperscan): lo holds the bytes below 0x80,
// hi the others, and each table entry has bit k set if the byte with that
// low nibble and bits 4-6 equal to k is in the set. A byte c is in the set
// if table[c&15] has bit (c>>4)&7 set, in lo or hi by c's top bit.
type byteSet struct {
	lo, hi [16]byte
}

func (s *byteSet) add(c byte) {
	t := &s.lo
	if c >= 0x80 {
		t = &s.hi
	}
	t[c&15] |= 1 << (c >> 4 & 7)
}

func (s *byteSet) has(c byte) bool {
	t := &s.lo
	if c >= 0x80 {
		t = &s.hi
	}
	return t[c&15]&(1<<(c>>4&7)) != 0
}

// nibbleTables are the sets the vector trigger search looks bytes up in;
// the assembly reads the fields at fixed offsets, in this order.
type nibbleTables struct {
	// What triggers after a byte outside word, and after a byte in it.
	other, inWord byteSet
	// The bytes after which the classes of the second mask apply.
	word byteSet
}
