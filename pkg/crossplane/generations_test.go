package crossplane

import (
	"strings"
	"testing"
)

// Releases before v1.13 still run in the field (crossplane/crossplane#3329 is
// v1.9.1): they are judged as the oldest generation, and say so.
func TestSelectOlderThanModelled(t *testing.T) {
	ts, err := Select([]string{"v1.9.1"})
	if err != nil || len(ts) != 1 {
		t.Fatalf("%v %v", ts, err)
	}
	tg := ts[0]
	if tg.Name != Generations[0].Name || !tg.Older {
		t.Fatalf("v1.9.1 judged as %s (older=%v)", tg.Name, tg.Older)
	}
	if got := tg.Label(); got != "v1.9.1 (judged as v1.13)" {
		t.Fatalf("label %q", got)
	}
	if n := tg.Note(); !strings.Contains(n, "older than v1.13") || !strings.Contains(n, "classified all the same") {
		t.Fatalf("note %q", n)
	}
	modelled, _ := Select([]string{"v1.13.0"})
	if modelled[0].Older || modelled[0].Note() != "" || modelled[0].Label() != "v1.13.0" {
		t.Fatalf("v1.13.0 is modelled: %+v %q", modelled[0], modelled[0].Note())
	}
}
