package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Limits of a --from-file support dump. The dump is read as a stream, one
// object at a time, and only what diagnose uses is kept (Snapshot.Add), so
// memory does not grow with the dump's size but with what it keeps: under
// 256 MiB for the largest dump accepted (BenchmarkReadDump200MB measures it).
const (
	// MaxDumpBytes is the largest dump read.
	MaxDumpBytes = 256 << 20
	// MaxObjectBytes bounds one object of a dump, after long values are cut
	// (an API server stores objects of at most 1.5 MiB: etcd's default
	// --max-request-bytes).
	MaxObjectBytes = 8 << 20
	// MaxValueBytes bounds one string of a dump (a message, an annotation);
	// longer ones are cut there and marked (see CutMark).
	MaxValueBytes = 64 << 10
)

// ReadFile reads a support dump: the output of
// `kubectl get providers,providerrevisions,...,deployments,pods,events -A -o yaml`
// (a List), or any stream of YAML/JSON objects and Lists.
func ReadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading support dump: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxDumpBytes {
		return nil, fmt.Errorf("%s: the dump is %d MiB; xpdoctor reads dumps up to %d MiB: dump fewer kinds or one namespace's events", path, st.Size()>>20, MaxDumpBytes>>20)
	}
	s, err := ReadDump(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Source = path
	return s, nil
}

// ReadDump reads a support dump from r as a stream: a JSON document, or a
// YAML stream, whose Lists are read item by item.
func ReadDump(r io.Reader) (*Snapshot, error) { return readDump(r, MaxDumpBytes, MaxKeptBytes) }

func readDump(r io.Reader, limit, maxKept int64) (*Snapshot, error) {
	counter := &countingReader{r: r, limit: limit}
	br := bufio.NewReaderSize(counter, 64<<10)
	s := &Snapshot{FromDump: true, maxKept: maxKept}
	var objects int
	overflow := fmt.Errorf("the dump holds more packages, revisions, pods and deployments than xpdoctor keeps in memory (%d MiB): dump one cluster's Crossplane namespace", maxKept>>20)
	add := func(obj map[string]any) error {
		objects++
		if obj == nil {
			return nil
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			// A List that was not streamed item by item (items in flow style).
			items, _, _ := unstructured.NestedSlice(obj, "items")
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					s.Add(&unstructured.Unstructured{Object: m})
				}
			}
		} else {
			s.Add(u)
		}
		if s.Overflowed() {
			return overflow
		}
		return nil
	}
	var err error
	if first, _ := peekNonSpace(br); first == '{' || first == '[' {
		err = readJSON(br, add)
	} else {
		err = readYAML(br, add)
	}
	if counter.over {
		return nil, fmt.Errorf("the dump is larger than %d MiB, the most xpdoctor reads: dump fewer kinds or one namespace's events", limit>>20)
	}
	if err != nil {
		return nil, err
	}
	if objects == 0 {
		return nil, errors.New("the dump is empty")
	}
	s.Finish()
	return s, nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			if i >= 4096 {
				return c, nil
			}
		default:
			return c, nil
		}
	}
}

// readJSON reads JSON values: an object, a List object whose items are
// decoded one at a time, or an array of objects. Strings longer than
// MaxValueBytes are cut before they are decoded (capJSON).
func readJSON(r io.Reader, add func(map[string]any) error) error {
	dec := json.NewDecoder(&capJSON{r: r})
	for n := 1; ; n++ {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return jsonErr(n, err)
		}
		switch tok {
		case json.Delim('['):
			if err := jsonItems(dec, add); err != nil {
				return jsonErr(n, err)
			}
		case json.Delim('{'):
			if err := jsonObject(dec, add); err != nil {
				return jsonErr(n, err)
			}
		default:
			return jsonErr(n, fmt.Errorf("a %T is not a Kubernetes object", tok))
		}
	}
}

func jsonErr(n int, err error) error {
	return fmt.Errorf("not a kubectl -o yaml/json dump (JSON document %d): %w", n, err)
}

// jsonObject reads the rest of an object whose '{' was read: its "items"
// array item by item, every other member whole.
func jsonObject(dec *json.Decoder, add func(map[string]any) error) error {
	obj := map[string]any{}
	streamed := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if key == "items" {
			if t, err := dec.Token(); err != nil {
				return err
			} else if t == json.Delim('[') {
				if err := jsonItems(dec, add); err != nil {
					return err
				}
				streamed = true
				continue
			} else if t != nil {
				return fmt.Errorf("items is a %v, not a list", t)
			}
			continue
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if !streamed {
		return add(obj)
	}
	return nil
}

// jsonItems reads the rest of an array whose '[' was read, one element at a time.
func jsonItems(dec *json.Decoder, add func(map[string]any) error) error {
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return err
		}
		if err := add(m); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// capJSON cuts JSON string literals longer than MaxValueBytes as it streams
// them, keeping the text valid: it cuts before a character or an escape,
// never inside one, and ends the string with CutMark.
type capJSON struct {
	r        io.Reader
	in       []byte
	out      []byte
	pending  []byte
	inString bool
	// escape: after a backslash; hex: \uXXXX digits still to come.
	escape  bool
	hex     int
	length  int
	cut     bool
	dropped int64
}

func (c *capJSON) Read(p []byte) (int, error) {
	if c.in == nil {
		c.in = make([]byte, 32<<10)
	}
	for len(c.pending) == 0 {
		n, err := c.r.Read(c.in)
		c.out = c.filter(c.in[:n], c.out[:0])
		c.pending = c.out
		if len(c.pending) == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *capJSON) filter(in, out []byte) []byte {
	for _, b := range in {
		if !c.inString {
			out = append(out, b)
			if b == '"' {
				c.inString, c.length, c.cut, c.dropped = true, 0, false, 0
			}
			continue
		}
		// start: b begins a character or an escape, where a cut may go.
		start := false
		switch {
		case c.hex > 0:
			c.hex--
		case c.escape:
			c.escape = false
			if b == 'u' {
				c.hex = 4
			}
		case b == '\\':
			c.escape, start = true, true
		case b == '"':
			c.inString = false
			if c.cut {
				out = append(out, CutMark(c.dropped)...)
			}
			out = append(out, b)
			continue
		default:
			start = b < 0x80 || b >= 0xc0
		}
		if !c.cut && start && c.length >= MaxValueBytes {
			c.cut = true
		}
		if c.cut {
			c.dropped++
			continue
		}
		c.length++
		out = append(out, b)
	}
	return out
}

// cutMarkFormat marks a value cut by the dump reader.
const cutMarkFormat = " … [cut by xpdoctor: %d more bytes]"

// CutMark is what ends a value that was cut, saying how much was dropped.
func CutMark(dropped int64) string { return fmt.Sprintf(cutMarkFormat, dropped) }

// CapMessage cuts a message longer than MaxValueBytes and marks it. One
// already cut by the dump reader (MaxValueBytes plus its mark) is left alone.
func CapMessage(s string) string {
	const markRoom = 64
	if len(s) <= MaxValueBytes+markRoom {
		return s
	}
	cut := MaxValueBytes
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + CutMark(int64(len(s)-cut))
}

type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
	over  bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		c.over = true
		return 0, io.ErrUnexpectedEOF
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
