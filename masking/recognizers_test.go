package masking

import (
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestMasker(t testing.TB, cfg Config) *Masker {
	t.Helper()
	m, err := New(cfg, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func on() *bool  { v := true; return &v }
func off() *bool { v := false; return &v }

// allOn enables the recognizers that are off by default.
var allOn = Config{Recognizers: map[string]RecognizerConfig{"ipv4": {Enabled: on()}, "ipv6": {Enabled: on()}}}

type recCase struct {
	name string
	in   string
	want string // masked output; "" means unchanged
	rec  string // recognizer of the (first) finding; "" means none
}

// recCases are true and false positives for every recognizer. They also seed
// the chunking fuzz test.
var recCases = []recCase{
	// SSN
	{"ssn-dashes", "SSN 123-45-6789 ok", "SSN ***-**-**** ok", "ssn"},
	{"ssn-spaces", "ssn: 123 45 6789\n", "ssn: *** ** ****\n", "ssn"},
	{"ssn-start-end", "123-45-6789", "***-**-****", "ssn"},
	{"ssn-sgr-inside", "123-\x1b[31m45\x1b[0m-6789", "***-\x1b[31m**\x1b[0m-****", "ssn"},
	{"ssn-grep-color", "x \x1b[01;31m\x1b[K123-45-6789\x1b[m\x1b[K y", "x \x1b[01;31m\x1b[K***-**-****\x1b[m\x1b[K y", "ssn"},
	{"ssn-after-number", "room 7 123-45-6789", "room 7 ***-**-****", "ssn"},
	{"ssn-area-000", "000-12-3456", "", ""},
	{"ssn-area-666", "666-12-3456", "", ""},
	{"ssn-area-9xx", "900-12-3456", "", ""},
	{"ssn-group-00", "123-00-4567", "", ""},
	{"ssn-serial-0000", "123-45-0000", "", ""},
	{"ssn-woolworth", "078-05-1120", "", ""},
	{"ssn-advertising", "219-09-9999", "", ""},
	{"ssn-longer-run", "1123-45-67890", "", ""},
	{"ssn-glued-right", "123-45-6789-1", "", ""},
	{"ssn-glued-left", "9-123-45-6789", "", ""},
	{"ssn-letters", "A123-45-6789", "", ""},
	{"ssn-underscore", "patient_123-45-6789", "patient_***-**-****", "ssn"},
	{"ssn-underscore-after", "x 123-45-6789_old", "x ***-**-****_old", "ssn"},
	{"ssn-dotted", "ssn 123.45.6789.", "ssn ***.**.****.", "ssn"},
	{"ssn-dotted-no-context", "id 123.45.6789 x", "id ***.**.**** x", "ssn"},
	{"ssn-dotted-version", "v1.123.45.6789", "", ""},
	{"ssn-undashed-context", "SSN: 123456789\n", "SSN: *********\n", "ssn"},
	{"ssn-undashed-social", "social security number 123456789", "social security number *********", "ssn"},
	{"ssn-undashed-json", `{"ssn":"123456789"}`, `{"ssn":"*********"}`, "ssn"},
	{"ssn-undashed-other-line", "ssn\n123456789", "", ""},
	{"ssn-undashed-invalid", "SSN: 000456789", "", ""},
	{"ssn-undashed-csv", "id,name,ssn\n1,Roe,123456789\n2,Doe,234567890\n", "id,name,ssn\n1,Roe,*********\n2,Doe,*********\n", "ssn"},
	{"ssn-undashed-csv-other-column", "id,ssn,n\n1,x,123456789\n", "", ""},
	{"ssn-undashed-psql", " id | ssn       | name\n----+-----------+-----\n  1 | 123456789 | Roe\n", " id | ssn       | name\n----+-----------+-----\n  1 | ********* | Roe\n", "ssn"},
	{"ssn-undashed-mysql", "| id | SSN       |\n+----+-----------+\n|  1 | 123456789 |\n", "| id | SSN       |\n+----+-----------+\n|  1 | ********* |\n", "ssn"},
	{"itin-undashed", "TIN 912781234", "TIN *********", "itin"},
	{"phone-ten-digits-context", "phone: 4155552671", "phone: **********", "phone"},
	{"phone-ten-digits-tel", "Tel 4155552671.", "Tel **********.", "phone"},
	{"phone-ten-digits-bare", "id 4155552671", "", ""},
	{"phone-ten-digits-csv", "name,phone\nRoe,4155552671\n", "name,phone\nRoe,**********\n", "phone"},
	{"dob-csv-column", "id,dob,visit\n1,1980-01-02,2024-05-06\n", "id,dob,visit\n1,****-**-**,2024-05-06\n", "dob"},
	{"dob-psql-column", " name | birth_date\n------+-----------\n Roe  | 1980-01-02\n", " name | birth_date\n------+-----------\n Roe  | ****-**-**\n", "dob"},
	{"dob-previous-line", "col_dob\n2024-01-02 10:00:00 started", "", ""},
	{"mrn-glued", "MRN1234567 seen", "MRN******* seen", "mrn"},
	{"mrn-colon", "MRN: 1234567\n", "MRN: *******\n", "mrn"},
	{"mrn-csv", "name,mrn\nRoe,A1234567\n", "name,mrn\nRoe,********\n", "mrn"},
	{"card-block-id", "blk_-4111111111111111 and blk_4111111111111111", "", ""},
	{"card-bad-grouping", "7024 5015 150454 240", "", ""},
	{"card-amex-grouping", "amex 3782 822463 10005", "amex **** ****** *****", "credit_card"},
	{"ssn-mixed-separators", "123-45 6789", "", ""},
	{"ssn-spaced-in-run", "7 123 45 6789", "", ""},
	{"ssn-unseparated", "123456789", "", ""},
	{"ssn-cursor-move", "123-45\x1b[5;1H-6789", "", ""},
	// ITIN
	{"itin", "ITIN 912-78-1234.", "ITIN ***-**-****.", "itin"},
	{"itin-group-93", "912-93-1234", "", ""},
	{"itin-group-60", "912-60-1234", "", ""},
	// Cards
	{"card-visa-spaces", "card 4111 1111 1111 1111 end", "card **** **** **** **** end", "credit_card"},
	{"card-visa-dashes", "4111-1111-1111-1111", "****-****-****-****", "credit_card"},
	{"card-plain", "pan=4111111111111111;", "pan=****************;", "credit_card"},
	{"card-amex", "3782 822463 10005", "**** ****** *****", "credit_card"},
	{"card-mastercard", "5555555555554444", "****************", "credit_card"},
	{"card-discover", "6011 1111 1111 1117", "**** **** **** ****", "credit_card"},
	{"card-then-expiry", "4111 1111 1111 1111 12/25", "**** **** **** **** 12/25", "credit_card"},
	{"card-luhn-invalid", "4111 1111 1111 1112", "", ""},
	{"card-unknown-iin", "1234 5678 9012 3452", "", ""},
	{"card-too-long", "41111111111111111111", "", ""},
	{"card-order-number", "order 100000000000000008", "", ""},
	// E-mail
	{"email", "mail john.doe@example.com now", "mail j***.***@*******.*** now", "email"},
	{"email-subdomain", "<a.b+tag@mail.example.co.uk>", "<a.*+***@****.*******.**.**>", "email"},
	{"email-sentence", "write to jd@example.org.", "write to j*@*******.***.", "email"},
	{"email-prompt", "deploy@db01.prod.internal:~$ ", "", ""},
	{"email-scp", "scp f admin@files.example.com:/tmp", "", ""},
	{"email-no-dot", "root@localhost", "", ""},
	{"email-numeric-tld", "user@10.0.0.1", "", ""},
	// Phone
	{"phone-paren", "call (555) 123-4567 now", "call (***) ***-**** now", "phone"},
	{"phone-dashes", "555-123-4567", "***-***-****", "phone"},
	{"phone-dots", "tel 555.123.4567", "tel ***.***.****", "phone"},
	{"phone-plus1", "+1 555 123 4567", "+* *** *** ****", "phone"},
	{"phone-1-dash", "1-555-123-4567", "*-***-***-****", "phone"},
	{"phone-e164", "+12125551234", "+***********", "phone"},
	{"phone-1-paren", "1 (212) 555-1234", "* (***) ***-****", "phone"},
	{"phone-area-0", "055-123-4567", "", ""},
	{"phone-area-1", "(155) 123-4567", "", ""},
	{"phone-exchange-1", "212-123-4567", "", ""},
	{"phone-unseparated", "2125551234", "", ""},
	{"phone-plus1-dashes", "tel:+1-212-555-1234", "tel:+*-***-***-****", "phone"},
	{"phone-paren-tight", "(212)555-1234", "(***)***-****", "phone"},
	{"phone-plus1-paren", "+1 (212) 555-1234", "+* (***) ***-****", "phone"},
	// Dates of birth
	{"dob-slash", "DOB: 01/02/1980", "DOB: **/**/****", "dob"},
	{"dob-iso", "date_of_birth=1980-01-02,", "date_of_birth=****-**-**,", "dob"},
	{"dob-json", `{"dateOfBirth":"1980-01-02"}`, `{"dateOfBirth":"****-**-**"}`, "dob"},
	{"dob-iso-time", `"dob": "1980-01-02T00:00:00Z"`, `"dob": "****-**-**T00:00:00Z"`, "dob"},
	{"dob-dots", "D.O.B. 02.01.1980", "D.O.B. **.**.****", "dob"},
	{"dob-month-first", "born Jan 5, 1980 in", "born *** *, **** in", "dob"},
	{"dob-month-long", "Birthday: September 30th, 1975", "Birthday: ********* ****, ****", "dob"},
	{"dob-day-first", "birthdate 5 January 1980", "birthdate * ******* ****", "dob"},
	{"dob-day-month", "dob 05-Jan-1980", "dob **-***-****", "dob"},
	{"dob-short-year", "DOB 1/2/80", "DOB */*/**", "dob"},
	{"dob-no-context", "2024-01-15 12:34:56 INFO started", "", ""},
	{"dob-too-far", "DOB is recorded somewhere else, not here: 01/02/1980", "", ""},
	{"dob-invalid", "DOB 13/32/1980", "", ""},
	{"dob-adobe", "adobe 01/02/1980", "", ""},
	// MRN
	{"mrn", "MRN: 00123456", "MRN: ********", "mrn"},
	{"mrn-hash", "mr# AB1234567 seen", "mr# ********* seen", "mrn"},
	{"mrn-no-context", "pid 00123456", "", ""},
	// NPI
	{"npi", "NPI 1234567893", "NPI **********", "npi"},
	{"npi-bad-check", "NPI 1234567890", "", ""},
	{"npi-no-context", "ts=1234567893", "", ""},
	// MBI
	{"mbi-dashes", "MBI 1EG4-TE5-MK73", "MBI ****-***-****", "mbi"},
	{"mbi-plain", "1EG4TE5MK73", "***********", "mbi"},
	{"mbi-forbidden-letter", "1SG4TE5MK73", "", ""},
	{"mbi-one-dash", "1EG4-TE5MK73", "", ""},
	// Things that are not PHI
	{"version", "bastion 1.2.3-45 (go1.26)", "", ""},
	{"uuid", "id 123e4567-e89b-12d3-a456-426614174000", "", ""},
	{"uuid-digits", "12345678-1234-1234-1234-123456789012", "", ""},
	{"git-hash", "commit 3f2a9c1d4e5b6a7988776655443322110fedcba9", "", ""},
	{"timestamp", "2024-01-15T12:34:56.789Z", "", ""},
	{"ls-line", "-rw-r--r-- 1 root root 4096 Jan 15 12:34 notes.txt", "", ""},
	{"ps-line", "root      1234  0.0  0.1 169876 13256 ?  Ss   12:34   0:01 /sbin/init", "", ""},
	{"ip-off", "10.0.0.1 fe80::1", "", ""},
	{"utf8", "naïve café 123-45-6789 ✓", "naïve café ***-**-**** ✓", "ssn"},
}

// ipCases need allOn.
var ipCases = []recCase{
	{"ipv4", "from 192.168.1.20 port", "from ***.***.*.** port", "ipv4"},
	{"ipv4-port", "10.0.0.1:22", "**.*.*.*:22", "ipv4"},
	{"ipv4-octet", "300.1.1.1", "", ""},
	{"ipv4-version", "1.2.3.4.5", "", ""},
	{"ipv6", "addr fe80::1ff:fe23:4567:890a", "addr ****::***:****:****:****", "ipv6"},
	{"ipv6-loopback", "[::1]:22", "[::*]:22", "ipv6"},
	{"ipv6-time", "12:34:56", "", ""},
	{"ipv6-mac", "00:1a:2b:3c:4d:5e", "", ""},
}

func checkCases(t *testing.T, m *Masker, cases []recCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			got, fs := m.MaskString(tc.in)
			if got != want {
				t.Errorf("MaskString(%q)\n got %q\nwant %q", tc.in, got, want)
			}
			switch {
			case tc.rec == "" && len(fs) > 0:
				t.Errorf("unexpected findings %+v", fs)
			case tc.rec != "" && (len(fs) == 0 || fs[0].Recognizer != tc.rec):
				t.Errorf("findings %+v, want %s", fs, tc.rec)
			}
		})
	}
}

func TestRecognizers(t *testing.T) {
	checkCases(t, newTestMasker(t, Config{}), recCases)
}

func TestRecognizersIP(t *testing.T) {
	checkCases(t, newTestMasker(t, allOn), ipCases)
}

func TestRecognizerSwitches(t *testing.T) {
	m := newTestMasker(t, Config{Recognizers: map[string]RecognizerConfig{
		"ssn":   {Enabled: off()},
		"email": {Enabled: off()},
		"npi":   {RequireContext: off()},
		"mrn":   {Pattern: `PT-\d{5}`, Context: []string{"patient"}},
	}})
	checkCases(t, m, []recCase{
		{"ssn-off", "123-45-6789", "", ""},
		{"email-off", "john@example.com", "", ""},
		{"npi-without-context", "ts=1234567893", "ts=**********", "npi"},
		{"mrn-pattern", "patient PT-12345", "patient **-*****", "mrn"},
		{"mrn-old-pattern", "MRN: 00123456", "", ""},
	})
}

func TestCustomPattern(t *testing.T) {
	m := newTestMasker(t, Config{Custom: []CustomPattern{
		{Name: "member_id", Pattern: `(?i)\bmem-[a-z0-9]{6}\b`},
		{Name: "claim", Pattern: `\d{8}`, Context: []string{"claim"}},
		{Name: "name", Pattern: `Núñez`},
	}})
	checkCases(t, m, []recCase{
		{"custom", "member MEM-ab12cd joined", "member ***-****** joined", "member_id"},
		{"custom-in-token", "id=mem-ab12cd,", "id=***-******,", "member_id"},
		{"custom-context", "Claim #12345678", "Claim #********", "claim"},
		{"custom-no-context", "order 12345678", "", ""},
		{"custom-utf8", "José Núñez.", "José *******.", "name"},
		{"custom-spans-space", "José  Núñez", "José  *******", "name"},
	})
}

func TestLabelStyle(t *testing.T) {
	m := newTestMasker(t, Config{Style: StyleLabel, Recognizers: map[string]RecognizerConfig{"phone": {Label: "<tel>"}}})
	checkCases(t, m, []recCase{
		{"ssn", "SSN 123-45-6789 ok", "SSN [SSN] ok", "ssn"},
		{"sgr-inside", "123-\x1b[31m45\x1b[0m-6789!", "[SSN]\x1b[31m\x1b[0m!", "ssn"},
		{"email", "to john.doe@example.com.", "to j[EMAIL].", "email"},
		{"phone", "(555) 123-4567", "<tel>", "phone"},
		{"two", "123-45-6789 123-45-6789", "[SSN] [SSN]", "ssn"},
	})
}

func TestFingerprints(t *testing.T) {
	m := newTestMasker(t, Config{})
	_, a := m.MaskString("SSN 123-45-6789 and 123 45 6789 and 234-56-7890")
	if len(a) != 3 {
		t.Fatalf("findings %+v", a)
	}
	if a[0].Fingerprint != a[1].Fingerprint {
		t.Errorf("same SSN, different fingerprints: %+v", a)
	}
	if a[0].Fingerprint == a[2].Fingerprint {
		t.Errorf("different SSNs, same fingerprint: %+v", a)
	}
	if fp, err := m.Fingerprint("ssn", "123456789"); err != nil || fp != a[0].Fingerprint {
		t.Errorf("Fingerprint = %q, %v; want %q", fp, err, a[0].Fingerprint)
	}
	for _, f := range a {
		s := strings.Join([]string{f.Recognizer, f.Fingerprint}, " ")
		for _, raw := range []string{"123-45-6789", "123456789", "6789", "234567890"} {
			if strings.Contains(s, raw) {
				t.Errorf("finding %+v contains %q", f, raw)
			}
		}
	}
	other, err := New(Config{}, []byte("another key of sixteen+ bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, b := other.MaskString("123-45-6789"); b[0].Fingerprint == a[0].Fingerprint {
		t.Error("fingerprint does not depend on the key")
	}
	// Offsets locate the masked value in the output.
	in := "x \x1b[1m123-45-6789\x1b[m"
	out, fs := m.MaskString(in)
	if len(fs) != 1 || out[fs[0].Offset:int(fs[0].Offset)+fs[0].Length] != "***-**-****" {
		t.Errorf("finding %+v does not locate the value in %q", fs, out)
	}
}
