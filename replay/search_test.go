package replay

import (
	"slices"
	"testing"
)

func TestSearch(t *testing.T) {
	rec := &Recording{Events: []Event{
		{0.5, "o", "$ select * from patients;\r\n"},
		{0.6, "i", "patients"}, // input is not searched
		{1.0, "o", "name | pat"},
		{1.0, "m", "marker"},
		{1.5, "o", "ients\r\n"},
		{2.0, "o", ""},
		{2.5, "o", "patientspatients"},
	}}
	tests := []struct {
		q    string
		want []Match
	}{
		{"patients", []Match{
			{Event: 0, Time: 0.5, Offset: 16, EndEvent: 0},
			{Event: 2, Time: 1.0, Offset: 7, EndEvent: 4}, // spans events
			{Event: 6, Time: 2.5, Offset: 0, EndEvent: 6},
			{Event: 6, Time: 2.5, Offset: 8, EndEvent: 6},
		}},
		{"marker", nil},
		{"", nil},
		{"\r\n", []Match{{0, 0.5, 25, 0}, {4, 1.5, 5, 4}}},
	}
	for _, tt := range tests {
		if got := Search(rec, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %+v, want %+v", tt.q, got, tt.want)
		}
	}
}
