// Package masking hides protected health information (PHI) in terminal
// output as it streams from a target host, before the output reaches the
// recorder and the client.
//
// # Use
//
//	m, err := masking.New(cfg, key)     // once per policy; safe to share
//	p := m.NewPaced()                  // one per output stream (stdout, stderr, pty)
//	sc := m.NewScreen(cols, rows)      // one per client terminal (streams share it)
//	for {
//		n, err := upstream.Read(buf)
//		out = p.AppendWrite(out[:0], time.Now(), buf[:n])
//		sc.Mask(out, offset)           // in place: what the screen would show
//		// record out, then send it to the client
//		for _, f := range p.Findings() { ... } // audit: counts, fingerprints
//		// when p.Due() says: p.AppendTick(out, now); at EOF: p.AppendFlush(out)
//	}
//	line, findings := m.MaskString(commandLine) // one-shot, for headers and audit events
//
// Write returns a new slice; AppendWrite and AppendFlush append to a caller
// buffer instead and allocate nothing in steady state. A Stream is used by
// one goroutine.
//
// # Recognizers
//
// Each recognizer has a validator and can be switched off in Config; all are
// on by default except ipv4 and ipv6.
//
//	ssn          123-45-6789, 123 45 6789; SSA rules (area not 000, 666, 900-999;
//	             group not 00; serial not 0000), not 078-05-1120 or 219-09-9999
//	itin         9XX-YY-XXXX with YY in 70-88, 90-92, 94-99
//	credit_card  13-19 digits, plain or in groups of 3-6 split by spaces or
//	             hyphens; Luhn-valid with a known issuer prefix
//	email        local part (1-64) @ domain with an alphabetic TLD; not names
//	             under private TLDs (.internal, .local, ...) nor user@host:path
//	phone        NANP: (NXX) NXX-XXXX, NXX-NXX-XXXX, NXX.NXX.XXXX, NXX NXX XXXX,
//	             1-/+1 prefixes, +1NXXNXXXXXX (exchange rule waived for area 555)
//	dob          a date (01/02/1980, 1980-01-02, Jan 2, 1980, 2 Jan 1980, ...)
//	             within ContextDistance after DOB, D.O.B., born, birth, ...
//	mrn          a site pattern (default DefaultMRNPattern) after MRN, MR#, ...
//	npi          10 digits, Luhn over 80840+digits; after "NPI" unless
//	             require_context is false (else epoch timestamps would match)
//	mbi          Medicare Beneficiary Identifier, 1EG4-TE5-MK73 or 1EG4TE5MK73
//	ipv4, ipv6   addresses (off by default)
//	custom       Config.Custom: a regular expression, optional context words
//
// A value glued to a longer number ("1123-45-67890", "v1.2.3-45") or to a
// word ("A123-45-6789") is not matched; time stamps, versions, UUIDs and
// hashes are not PHI to any recognizer. Patterns (mrn, custom) match within
// tokens, runs of text between white space and |,;"'<>()[]{}` of at most 128
// bytes; labels belong in context words.
//
// # Masking
//
// In the default "same-length" style every letter, digit and non-ASCII byte
// of a value becomes '*' and everything else stays, so the output has the
// length of the input and every escape sequence at its offset:
// 123-45-6789 → ***-**-****, john.doe@example.com → j***.***@*******.***.
// The first character of an e-mail address stays visible (see Hold-back).
// The "label" style writes the recognizer's label ([SSN], [EMAIL], ...) in
// place of the value's text and keeps the escape sequences inside it.
//
// # Visible text
//
// The stream is split into text and escape sequences with the VT parser of
// github.com/charmbracelet/x/ansi, CSI sequences with the tokenizer's own.
// Recognizers read the visible text: escape sequences that do not move the
// cursor (SGR colours, erase in line) are skipped, so
// "123-\x1b[31m45\x1b[0m-6789", as grep --color writes it, is one SSN;
// sequences that move the cursor separate the text around them. A CSI
// sequence runs to its final byte as terminals parse it (DEC STD 070): one
// with a private marker after a parameter or a parameter byte after an
// intermediate ("\x1b[1?m") is ignored by the terminal and read through,
// and one with a C0 control inside that moves the cursor separates.
// The C0 controls and DEL that a terminal runs without drawing or moving
// the cursor (NUL, BEL, SO, SI, DC1-DC4, CAN, SUB...) are skipped too, so
// "123-45-\a6789" is one SSN, while BS, HT, LF, VT, FF and CR separate.
// Escape sequences themselves are never changed. Only ESC starts a
// sequence (8-bit C1 bytes are not interpreted, as in UTF-8 terminals);
// invalid UTF-8 passes through unchanged. C1 controls encoded in UTF-8
// (U+0080..U+009F) are not text to a terminal: VTE and wezterm run them
// (U+009B as CSI, U+009C as ST...), xterm and ghostty draw nothing. Paced
// turns each into ESC \ before anything reads the stream (strings.go): a
// no-op to every terminal and to the recognizers, which read a value
// across it, and a terminator inside a string sequence; each is reported
// as a c1-control finding.
//
// # Streaming
//
// For any split of a stream into writes, the concatenated output and the
// findings equal those of writing it at once (with Flush calls at the same
// places in the content). Every decision depends on the content only: a
// recognizer reads text through an accessor that stops it, to wait for more
// input, when it reaches text not yet received, so whatever it decides was
// decided by received text alone.
//
// Hold-back: Write emits at once everything that cannot become part of a
// value, and holds the rest, from the earliest place where a value may still
// start: a number at the end ("1" may become an SSN), '(' and '+', a date
// after a DOB context word, a token a pattern may match, and a word at the
// end from its second character (it may turn out to be an e-mail local part
// when an '@' follows). So "$ " and an echoed "l" are emitted immediately,
// an echoed digit may be held. An incomplete UTF-8 character is held too, so
// a character is never split between results. An unfinished escape sequence
// is not a reason to hold: its bytes go out as they arrive, except an ESC
// that may start the terminator ESC \ of a string.
//
// MaxHold bounds the hold: a value must be decided within MaxHold bytes of
// its start, counted in raw bytes, escape sequences included. A longer
// value, or one with more escape bytes inside than fit, is not masked;
// the bound is a property of the content, not of the chunking, so the
// invariant holds. Pending never exceeds MaxHold plus 3 bytes.
//
// Flush emits the held bytes decided as if the stream ended there (at EOF);
// AppendFlushMasked emits them with every letter and digit masked, and keeps the
// token open so that the text continuing it is masked too. Paced applies
// the rules in time: a tail that may still become a value (Undecided) waits
// for the text that decides it until HoldDeadline, then goes out masked; an
// incomplete character or a word that may become an e-mail address's local
// part goes out raw after IdleFlush. Paced also masks the payloads of
// string sequences (OSC, DCS, APC, PM, SOS) first (strings.go). Context
// words are never decided by a Flush: a word cut by a pause still counts.
//
// Screen (screen.go) models the terminal and masks, in the bytes being
// emitted, what would complete a value on the screen (cursor motion,
// overwrites, look-alike digits and hyphens, zero-width characters).
//
// # Findings
//
// A Finding names the recognizer, the value's offset and length in the
// output stream, and a fingerprint: the first 16 bytes of HMAC-SHA256 over
// the normalized value with the deployment's key, hex encoded. Equal values
// give equal fingerprints (123-45-6789 and 123 45 6789 too); the raw value is
// never kept. Masker.Fingerprint computes one from a known value, for search.
//
// # Tables
//
// A context word that is a whole field of a CSV/TSV, psql or mysql header
// makes the values in its column count as that field (table.go): undashed
// SSNs under "ssn", dates under "dob", numbers under "mrn".
//
// # Limitations
//
//   - Output that encodes a value (base64 other than OSC 52, hex dumps) is
//     not masked.
//   - Screen reads one row at a time and cannot take back bytes already
//     sent (see its doc).
//   - Context words and table headers count on their own line; a header
//     line or a value's line longer than 256 bytes is not read by column.
package masking
