package replay

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func FuzzOpen(f *testing.F) {
	const hdr = `{"version":2,"width":80,"height":24,"bastion":{"session_id":"s","groups":["a"]}}` + "\n"
	for _, seed := range []string{
		"",
		hdr,
		hdr + `[0.1,"o","hello\r\n"]` + "\n" + `[0.2,"r","80x24"]` + "\n",
		hdr + `[0.1,"o","\u001b[31m"]` + "\n" + `[0.05,"o","x"]` + "\n",
		hdr + `[1e308,"o","x"]` + "\n",
		`{"version":2,"width":80,"height":24,"timestamp":-1}`,
		`{"version":2,"width":80,"height":24,"env":{"TERM":1}}`,
		hdr + `{"a":1}`,
		hdr + `[0.1,"o"]`,
		"[]\n",
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Read(bytes.NewReader(data))
		if err != nil {
			if rec != nil {
				t.Fatal("a recording and an error")
			}
			return
		}
		for i := 1; i < len(rec.Events); i++ {
			if rec.Events[i].Time < rec.Events[i-1].Time {
				t.Fatalf("event %d goes back in time", i)
			}
		}
		var out bytes.Buffer
		if err := Cat(&out, rec); err != nil {
			t.Fatal(err)
		}
		noSleep := func(context.Context, time.Duration) error { return nil }
		if err := Play(context.Background(), &bytes.Buffer{}, rec, PlayOptions{Speed: 3, IdleLimit: time.Second, Sleep: noSleep}); err != nil {
			t.Fatal(err)
		}
		Search(rec, "a")
	})
}
