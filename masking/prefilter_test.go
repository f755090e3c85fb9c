package masking

import (
	"fmt"
	"strings"
	"testing"
)

// prefilterCases try to slip a value past the tests that rule a trigger
// out before the recognizers run: the shapes of numbers that need no
// context, used beyond the reach of every context word and table header
// (ContextDistance after a word's end, and a table's column far below its
// header); a number's next group; a context word's first four bytes; a
// pattern's token that has ended. Each value sits where such a test
// decides: at the edge of a word's reach, in a table column, after long
// runs of numbers and words the scan passes over, with escape sequences
// inside. want and recs (the findings' recognizers) are what the scan
// without these tests gave; the tests must change nothing.
var prefilterCases = []struct{ in, want, recs string }{
	{"dob:                              01/02/1980 seen today", "dob:                              **/**/**** seen today", "dob"},
	{"DOB                               1980-01-02 x", "DOB                               ****-**-** x", "dob"},
	{"ssn                               123456789 seen today", "ssn                               ********* seen today", "ssn"},
	{"ssn                               123456789", "ssn                               *********", "ssn"},
	{"Phone                               5551234567 seen today", "Phone                               ********** seen today", "phone"},
	{"MRN                               00123456 seen today", "MRN                               ******** seen today", "mrn"},
	{"npi:                              1234567893 seen today", "npi:                              ********** seen today", "npi"},
	{"dob:                               01/02/1980 seen today", "dob:                               **/**/**** seen today", "dob"},
	{"DOB                                1980-01-02 x", "DOB                                ****-**-** x", "dob"},
	{"ssn                                123456789 seen today", "ssn                                ********* seen today", "ssn"},
	{"ssn                                123456789", "ssn                                *********", "ssn"},
	{"Phone                                5551234567 seen today", "Phone                                ********** seen today", "phone"},
	{"MRN                                00123456 seen today", "MRN                                ******** seen today", "mrn"},
	{"npi:                               1234567893 seen today", "npi:                               ********** seen today", "npi"},
	{"dob:                                01/02/1980 seen today", "dob:                                01/02/1980 seen today", ""},
	{"DOB                                 1980-01-02 x", "DOB                                 1980-01-02 x", ""},
	{"ssn                                 123456789 seen today", "ssn                                 123456789 seen today", ""},
	{"ssn                                 123456789", "ssn                                 123456789", ""},
	{"Phone                                 5551234567 seen today", "Phone                                 5551234567 seen today", ""},
	{"MRN                                 00123456 seen today", "MRN                                 00123456 seen today", ""},
	{"npi:                                1234567893 seen today", "npi:                                1234567893 seen today", ""},
	{"id,ssn,dob\r\n1,123456789,1980-01-02\r\n2,987654321,01/02/1970\r\n", "id,ssn,dob\r\n1,*********,****-**-**\r\n2,987654321,**/**/****\r\n", "ssn,dob,dob"},
	{"id,ssn\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n2,123456789 seen today\r\n", "id,ssn\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n1,x\r\n2,********* seen today\r\n", "ssn"},
	{" id | phone      \n----+-----------\n  1 | 5551234567\n", " id | phone      \n----+-----------\n  1 | **********\n", "phone"},
	{"12:30:45 2024-01-05 1.2.3 99 7 10.0.0.1 123-45-6789", "12:30:45 2024-01-05 1.2.3 99 7 10.0.0.1 ***-**-****", "ssn"},
	{"03:04:05.123 4111 1111 1111 1111", "03:04:05.123 4111 1111 1111 1111", ""},
	{"1-2-3-4-5-6-7-8-9-0-123-45-6789", "1-2-3-4-5-6-7-8-9-0-123-45-6789", ""},
	{"v1.2.3-45 12:34 _-4111111111111111 blk_1073741825 123 45 6789", "v1.2.3-45 12:34 _-4111111111111111 blk_1073741825 123 45 6789", ""},
	{"555 123 4567 12 (555) 123-4567 +1 555 123 4567", "555 123 4567 12 (555) 123-4567 +* *** *** ****", "phone"},
	{"x 123-45-678", "x 123-45-678", ""},
	{"x 4111-1111-1111-1111", "x ****-****-****-****", "credit_card"},
	{"x 123 45 6789", "x *** ** ****", "ssn"},
	{"x 123-45-6789 and more", "x ***-**-**** and more", "ssn"},
	{"x 4111 1111 1111 1111 and more", "x **** **** **** **** and more", "credit_card"},
	{"(555) 123-4567 and more", "(***) ***-**** and more", "phone"},
	{"ss# 123456789 ok", "ss# ********* ok", "ssn"},
	{"SS#123456789 seen today", "SS#********* seen today", "ssn"},
	{"Ss   123456789 seen today", "Ss   123456789 seen today", ""},
	{"soc sec 123456789 seen today", "soc sec ********* seen today", "ssn"},
	{"D.O.B. 01/02/1980", "D.O.B. **/**/****", "dob"},
	{"d.o.x 01/02/1980", "d.o.x 01/02/1980", ""},
	{"born 2 Jan 1980", "born * *** ****", "dob"},
	{"BORNE 2 Jan 1980", "BORNE 2 Jan 1980", ""},
	{"ph 5551234567 seen today", "ph ********** seen today", "phone"},
	{"pH:5551234567 seen today", "pH:********** seen today", "phone"},
	{"phx 5551234567 seen today", "phx 5551234567 seen today", ""},
	{"tin 912701234 seen today", "tin ********* seen today", "itin"},
	{"Med Rec: ABC1234567", "Med Rec: **********", "mrn"},
	{"med rex: ABC1234567", "med rex: ABC1234567", ""},
	{"patient id 00123456", "patient id ********", "mrn"},
	{"patient ix 00123456", "patient ix 00123456", ""},
	{"MRN: seen by dr. ABC1234567 ok", "MRN: seen by dr. ********** ok", "mrn"},
	{"MRN: abc 1234567", "MRN: abc *******", "mrn"},
	{"MRN: 123456 seen today", "MRN: ****** seen today", "mrn"},
	{"MRN: 12345 seen today", "MRN: 12345 seen today", ""},
	{"MRN:abc123456;x", "MRN:*********;x", "mrn"},
	{"MRN: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234567", "MRN: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234567", ""},
	{"MRN: ab\x1b[1mC1234\x1b[0m567 x", "MRN: **\x1b[1m*****\x1b[0m*** x", "mrn"},
	{"chart:\x1b[31m x\x1b[m 00123456", "chart:\x1b[31m x\x1b[m ********", "mrn"},
	{"D\x1b[1mOB\x1b[0m: 01/02/1980", "D\x1b[1mOB\x1b[0m: **/**/****", "dob"},
	{"ss\x1b[Kn 123456789", "ss\x1b[Kn *********", "ssn"},
	{"ph\x1b[2Cone 5551234567", "ph\x1b[2Cone 5551234567", ""},
	{"ssn 123\x1b[1m456\x1b[0m789 seen today", "ssn ***\x1b[1m***\x1b[0m*** seen today", "ssn"},
	{"dob 01\x1b[31m/\x1b[m02/1980", "dob **\x1b[31m/\x1b[m**/****", "dob"},
}

// prefilterLong puts values after long runs of numbers and words that
// every test rules out.
var prefilterLong = []struct{ run, value, want, recs string }{
	{"12:34:56 2024-01-05 ", "ssn 123456789", "ssn *********", "ssn"},
	{"Ss 1 pending 7 ", "123-45-6789", "***-**-****", "ssn"},
	{"MRN: seen by dr. ok\r\n", "MRN: ABC1234567", "MRN: **********", "mrn"},
	{"patient 1 took 12ms\r\n", "DOB: 01/02/1980", "DOB: **/**/****", "dob"},
}

func recNames(fs []Finding) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Recognizer)
	}
	return strings.Join(names, ",")
}

func TestPrefiltersMaskEverywhere(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, c := range prefilterCases {
		r := whole(m, c.in)
		if r.out != c.want || recNames(r.findings) != c.recs {
			t.Errorf("%q: got %q (%s), want %q (%s)", c.in, r.out, recNames(r.findings), c.want, c.recs)
		}
	}
	for _, tc := range testConfigs {
		m := newTestMasker(t, tc.cfg)
		for _, c := range prefilterCases {
			sameAtEverySplit(t, tc.name, m, c.in, 64)
		}
	}
}

func TestPrefiltersAfterLongRuns(t *testing.T) {
	for _, tc := range testConfigs {
		m := newTestMasker(t, tc.cfg)
		for _, c := range prefilterLong {
			prefix := strings.Repeat(c.run, 300)
			in := prefix + c.value
			want := whole(m, in)
			if tc.name == "default" && (want.out != prefix+c.want || recNames(want.findings) != c.recs) {
				t.Errorf("%q after %d bytes: got %q (%s), want %q (%s)", c.value, len(prefix),
					want.out[len(prefix):], recNames(want.findings), c.want, c.recs)
			}
			// Cut at every byte around the value and at the usual read sizes.
			cuts := []int{256, 4096}
			for i := len(prefix) - len(c.run); i < len(in); i++ {
				cuts = append(cuts, i)
			}
			for _, i := range cuts {
				sameResult(t, fmt.Sprintf("%s: %q split at %d", tc.name, c.value, i), run(m, split(in, i), nil), want)
			}
			sameResult(t, fmt.Sprintf("%s: %q in 7-byte writes", tc.name, c.value), run(m, split(in, seqCuts(len(in), 7)...), nil), want)
		}
	}
}
