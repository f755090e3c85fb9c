package replay

import (
	"fmt"
	"io"
)

// Cat writes the data of all output ("o") events to w, as `asciinema cat`
// does.
func Cat(w io.Writer, r *Recording) error {
	for _, e := range r.Events {
		if e.Code != "o" {
			continue
		}
		if _, err := io.WriteString(w, e.Data); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}
