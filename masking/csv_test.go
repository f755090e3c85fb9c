package masking

import "testing"

// CSV output separates fields with commas and no spaces; a value beside a
// comma must still be found.
func TestCommaSeparatedFields(t *testing.T) {
	m, err := New(Config{}, []byte("csv test fingerprint key 32 byte"))
	if err != nil {
		t.Fatal(err)
	}
	in := "1,Jane Roe,123-45-6789,4539 1488 0343 6467,x"
	want := "1,Jane Roe,***-**-****,**** **** **** ****,x"
	if got, _ := m.MaskString(in); got != want {
		t.Errorf("MaskString(%q) = %q, want %q", in, got, want)
	}
}
