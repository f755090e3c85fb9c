package replay

import (
	"sort"
	"strings"
)

// A Match is one occurrence of a searched string in the output.
type Match struct {
	Event    int     // index in Recording.Events of the output event where the match starts
	Time     float64 // that event's time
	Offset   int     // byte offset of the match in that event's data
	EndEvent int     // index of the output event where the match ends; > Event when it spans events
}

// Search returns the non-overlapping occurrences of substr in the output of
// r, in order. The output is searched as one stream, so a match may span
// events. It is the raw terminal stream: text split by escape sequences (a
// colour change inside a word, a cursor move) does not match.
func Search(r *Recording, substr string) []Match {
	if substr == "" {
		return nil
	}
	var (
		b      strings.Builder
		starts []int // offset in the stream where each output event starts
		index  []int // index in r.Events of each output event
	)
	for i, e := range r.Events {
		if e.Code == "o" && e.Data != "" {
			starts = append(starts, b.Len())
			index = append(index, i)
			b.WriteString(e.Data)
		}
	}
	stream := b.String()
	// event returns the output event holding stream offset off.
	event := func(off int) int {
		return sort.Search(len(starts), func(i int) bool { return starts[i] > off }) - 1
	}
	var matches []Match
	for at := 0; ; {
		i := strings.Index(stream[at:], substr)
		if i < 0 {
			return matches
		}
		start := at + i
		first, last := event(start), event(start+len(substr)-1)
		matches = append(matches, Match{
			Event:    index[first],
			Time:     r.Events[index[first]].Time,
			Offset:   start - starts[first],
			EndEvent: index[last],
		})
		at = start + len(substr)
	}
}
