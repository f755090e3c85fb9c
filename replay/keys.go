package replay

// Key is a player command read from the keyboard.
type Key int

// Player commands.
const (
	KeyNone  Key = iota
	KeyPause     // space: pause or resume
	KeyStep      // ".": while paused, play the next event
	KeyBack      // left arrow: seek back SeekStep
	KeyAhead     // right arrow: seek ahead SeekStep
	KeyQuit      // "q" (or Ctrl-C in raw mode): stop
)

// ParseKeys turns bytes typed on a terminal in raw mode into commands;
// the rest is ignored. rest holds an incomplete escape sequence at the end
// of p, to be prefixed to the next read.
func ParseKeys(p []byte) (keys []Key, rest []byte) {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case ' ':
			keys = append(keys, KeyPause)
		case '.':
			keys = append(keys, KeyStep)
		case 'q', 'Q', 3: // 3: Ctrl-C, which raw mode delivers as a byte
			keys = append(keys, KeyQuit)
		case 0x1b:
			// CSI C / CSI D (arrows), also in application mode (ESC O C).
			if i+2 >= len(p) {
				return keys, append([]byte(nil), p[i:]...)
			}
			if p[i+1] == '[' || p[i+1] == 'O' {
				switch p[i+2] {
				case 'C':
					keys = append(keys, KeyAhead)
				case 'D':
					keys = append(keys, KeyBack)
				}
				i += 2
			}
		}
	}
	return keys, nil
}
