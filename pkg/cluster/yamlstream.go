package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// readYAML reads a YAML stream line by line without holding more than one
// object: a document with a top-level `items:` block sequence (what
// `kubectl get -o yaml` prints: a List) is read one item at a time, any
// other document whole. Values longer than MaxValueBytes (a scalar's first
// line and its continuation lines, a block scalar's lines) are cut while
// they are read and re-emitted as a quoted string ending in CutMark, so an
// object never holds more than MaxValueBytes per value.
//
// It relies only on YAML's indentation rules (YAML 1.2 s.6.1, s.8.2): an
// item of a block sequence at indentation n goes on to the next line at
// indentation n that starts with "-", and a scalar value goes on over every
// following line indented more than its key.
func readYAML(br *bufio.Reader, add func(map[string]any) error) error {
	dec := newDecoder(add, runtime.GOMAXPROCS(0))
	y := &yamlReader{dec: dec, doc: 1}
	y.reset()
	err := y.split(br)
	// An object before the point where splitting failed may not decode:
	// the first error in the stream wins.
	if derr := dec.close(); derr != nil {
		return derr
	}
	return err
}

func (y *yamlReader) split(br *bufio.Reader) error {
	line := 0
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			line++
			first := true
			for {
				if perr := y.piece(piece, first, line); perr != nil {
					return perr
				}
				if !errors.Is(err, bufio.ErrBufferFull) {
					break
				}
				first = false
				piece, err = br.ReadSlice('\n')
			}
		}
		if errors.Is(err, io.EOF) {
			return y.endDocument()
		}
		if err != nil {
			return err
		}
	}
}

// decoder decodes objects on every core while the reader splits the next
// ones, and hands them to add one at a time in the order of the stream.
// At most a few objects per core are in flight.
type decoder struct {
	jobs, order chan *decodeJob
	quit        chan struct{}
	workers     sync.WaitGroup
	result      chan error
}

type decodeJob struct {
	b []byte
	// list: b is a one-entry block sequence (a List item), else a document.
	list  bool
	skip  bool
	where func(error) error
	objs  []map[string]any
	err   error
	ready chan struct{}
}

// errStopped ends splitting after an object failed to decode.
var errStopped = errors.New("stopped")

func newDecoder(add func(map[string]any) error, workers int) *decoder {
	d := &decoder{jobs: make(chan *decodeJob, 2*workers), order: make(chan *decodeJob, 4*workers), quit: make(chan struct{}), result: make(chan error, 1)}
	for i := 0; i < workers; i++ {
		d.workers.Add(1)
		go func() {
			defer d.workers.Done()
			for j := range d.jobs {
				j.decode()
				close(j.ready)
			}
		}()
	}
	go func() {
		var first error
		for j := range d.order {
			<-j.ready
			if first != nil {
				continue
			}
			first = j.err
			if j.skip {
				first = add(nil)
			}
			for _, o := range j.objs {
				if first == nil {
					first = add(o)
				}
			}
			if first != nil {
				close(d.quit)
			}
		}
		d.result <- first
	}()
	return d
}

func (j *decodeJob) decode() {
	if j.skip {
		return
	}
	var err error
	if j.list {
		// An entry that is not an object (a number, null) is no object to read.
		var items []any
		err = yaml.Unmarshal(j.b, &items)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				j.objs = append(j.objs, m)
			}
		}
	} else {
		var obj map[string]any
		if err = yaml.Unmarshal(j.b, &obj); err == nil {
			j.objs = []map[string]any{obj}
		}
	}
	if err != nil {
		j.err = j.where(err)
	}
	j.b = nil
}

func (d *decoder) submit(j *decodeJob) error {
	j.ready = make(chan struct{})
	select {
	case d.order <- j:
	case <-d.quit:
		return errStopped
	}
	d.jobs <- j
	return nil
}

// close waits for every object and returns the first decoding error.
func (d *decoder) close() error {
	close(d.jobs)
	close(d.order)
	d.workers.Wait()
	return <-d.result
}

type yamlReader struct {
	dec *decoder
	doc int
	// top is the document outside its items; item the current item.
	top, item *chunk
	// target receives the rest of a line longer than the read buffer.
	target *chunk
	// inItems: inside the document's `items:` sequence, whose entries start
	// at itemsIndent (-1 until the first one).
	inItems     bool
	itemsIndent int
	streamed    bool
}

func (y *yamlReader) reset() {
	y.top, y.item, y.target = &chunk{}, nil, nil
	y.inItems, y.itemsIndent, y.streamed = false, -1, false
}

// piece handles one read of a line: the whole line, or part of a long one.
func (y *yamlReader) piece(p []byte, first bool, line int) error {
	if !first {
		if y.target == nil {
			return nil
		}
		if err := y.target.cont(p); err != nil {
			return y.errorAt(y.target, err)
		}
		return nil
	}
	y.target = nil
	indent, content := leadingSpaces(p), bytes.TrimRight(p, "\r\n")
	if indent == 0 && (isMarker(content, "---") || isMarker(content, "...")) {
		if err := y.endDocument(); err != nil {
			return err
		}
		y.doc++
		y.reset()
		if rest := bytes.TrimSpace(content[3:]); len(rest) > 0 && content[0] == '-' {
			return y.line(y.top, rest, line)
		}
		return nil
	}
	blank := len(bytes.TrimSpace(content)) == 0 || content[indent] == '#'
	if y.inItems {
		dash := !blank && isDash(content[indent:])
		switch {
		case blank:
			if y.item != nil {
				return y.line(y.item, p, line)
			}
			return nil
		case y.itemsIndent < 0 && dash:
			y.itemsIndent = indent
			return y.startItem(p, line)
		case y.itemsIndent >= 0 && indent == y.itemsIndent && dash:
			if err := y.endItem(); err != nil {
				return err
			}
			return y.startItem(p, line)
		case y.itemsIndent >= 0 && indent > y.itemsIndent:
			return y.line(y.item, p, line)
		}
		// Anything else ends the sequence: back to the document's keys.
		if err := y.endItem(); err != nil {
			return err
		}
		y.inItems = false
	}
	if indent == 0 && isItemsKey(content) {
		y.inItems, y.itemsIndent, y.streamed = true, -1, true
		return nil
	}
	if blank && len(y.top.buf) == 0 {
		return nil
	}
	return y.line(y.top, p, line)
}

func (y *yamlReader) startItem(p []byte, line int) error {
	y.item = &chunk{strip: y.itemsIndent, start: line, base: 2}
	return y.line(y.item, p, line)
}

func (y *yamlReader) line(c *chunk, p []byte, line int) error {
	y.target = c
	if c.start == 0 {
		c.start = line
	}
	if err := c.line(p); err != nil {
		return y.errorAt(c, err)
	}
	return nil
}

// endItem decodes the current item, a one-entry block sequence.
func (y *yamlReader) endItem() error {
	c := y.item
	y.item = nil
	if c == nil {
		return nil
	}
	if c.fields.skip() {
		return y.dec.submit(&decodeJob{skip: true})
	}
	b, err := c.finish()
	if err != nil {
		return y.errorAt(c, err)
	}
	return y.dec.submit(&decodeJob{b: b, list: true, where: y.where(c)})
}

func (y *yamlReader) endDocument() error {
	if y.inItems {
		if err := y.endItem(); err != nil {
			return err
		}
	}
	if y.streamed {
		// A List: its items were added one by one; apiVersion, kind and
		// metadata of the List itself say nothing.
		return nil
	}
	c := y.top
	b, err := c.finish()
	if err != nil {
		return y.errorAt(c, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return y.dec.submit(&decodeJob{b: b, where: y.where(c)})
}

func (y *yamlReader) errorAt(c *chunk, err error) error { return y.where(c)(err) }

func (y *yamlReader) where(c *chunk) func(error) error {
	doc, line := y.doc, c.start
	return func(err error) error {
		return fmt.Errorf("not a kubectl -o yaml/json dump (document %d, object at line %d): %w", doc, line, err)
	}
}

func isMarker(line []byte, m string) bool {
	return bytes.HasPrefix(line, []byte(m)) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

func isDash(b []byte) bool { return len(b) > 0 && b[0] == '-' && (len(b) == 1 || b[1] == ' ') }

// isItemsKey matches a top-level `items:` whose value follows on the next lines.
func isItemsKey(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("items:"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

func leadingSpaces(b []byte) int {
	n := 0
	for n < len(b) && b[n] == ' ' {
		n++
	}
	return n
}

// chunk collects the lines of one object, cutting long values.
type chunk struct {
	buf []byte
	// strip is the indentation removed from every line (an indented items sequence).
	strip int
	start int
	sc    scalar
	// base is the column of the object's own keys (2 in a list item,
	// after "- "; 0 in a document); fields what the reader may skip on.
	base   int
	fields fields
}

// fields are the few values that tell, before decoding, that Snapshot.Add
// would drop an object (an Event diagnose does not read). Only single-line
// values are read; anything else is left for the decoder.
type fields struct {
	// parent is the key of the block being read, childIndent the column of
	// its keys (-1 until its first line).
	parent                  string
	childIndent             int
	kind, typ, involvedKind string
}

func (f *fields) see(base int, k lineKey, line []byte) {
	switch {
	case k.key == nil:
	case k.owner == base && k.at == 0:
		f.parent, f.childIndent = string(k.key), -1
	case k.owner == base:
		f.parent = ""
		switch string(k.key) {
		case "kind":
			f.kind = simpleScalar(line[k.at:])
		case "type":
			f.typ = simpleScalar(line[k.at:])
		}
	case k.owner > base && f.parent != "":
		if f.childIndent < 0 {
			f.childIndent = k.owner
		}
		if k.owner == f.childIndent && k.at > 0 && (f.parent == "involvedObject" || f.parent == "regarding") && string(k.key) == "kind" {
			f.involvedKind = simpleScalar(line[k.at:])
		}
	}
}

// skip reports that Snapshot.Add would drop the object for certain.
func (f *fields) skip() bool {
	return f.kind == "Event" && f.typ != "" && f.involvedKind != "" && !KeepsEvent(f.typ, f.involvedKind)
}

// simpleScalar is a one-line value that needs no decoding ("" otherwise).
func simpleScalar(v []byte) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] && !bytes.ContainsAny(v[1:len(v)-1], "\\'\""):
		return string(v[1 : len(v)-1])
	case len(v) > 0 && !bytes.ContainsAny(v, "\"'#&*!|>{}[],%@`\\") && !bytes.Contains(v, []byte(": ")):
		return string(v)
	}
	return ""
}

// scalar is the value being read: it started at buf[off], its key (or
// sequence dash) is at column owner, and it goes on over the lines
// indented more than that.
type scalar struct {
	active  bool
	owner   int
	off     int
	style   byte
	size    int
	cut     bool
	dropped int64
}

// line adds one line (or its first part).
func (c *chunk) line(p []byte) error {
	if s := min(c.strip, leadingSpaces(p)); s > 0 {
		p = p[s:]
	}
	indent := leadingSpaces(p)
	content := bytes.TrimRight(p, "\r\n")
	blank := len(bytes.TrimSpace(content)) == 0
	if c.sc.active && (blank || indent > c.sc.owner) {
		return c.cont(p)
	}
	if err := c.endScalar(); err != nil {
		return err
	}
	if len(c.buf)+len(p) > MaxObjectBytes {
		return fmt.Errorf("an object is larger than %d MiB even with its long values cut", MaxObjectBytes>>20)
	}
	k, ok := scalarStart(content)
	c.fields.see(c.base, k, content)
	if !ok {
		c.buf = append(c.buf, p...)
		return nil
	}
	c.buf = append(c.buf, p[:k.at]...)
	c.sc = scalar{active: true, owner: k.owner, off: len(c.buf), style: k.style}
	return c.cont(p[k.at:])
}

// cont adds text that belongs to the current value (or to a long line).
func (c *chunk) cont(p []byte) error {
	sc := &c.sc
	if !sc.active {
		if len(c.buf)+len(p) > MaxObjectBytes {
			return fmt.Errorf("an object is larger than %d MiB even with its long values cut", MaxObjectBytes>>20)
		}
		c.buf = append(c.buf, p...)
		return nil
	}
	if sc.cut {
		sc.dropped += int64(len(p))
		return nil
	}
	room := MaxValueBytes - sc.size
	if len(p) <= room {
		c.buf = append(c.buf, p...)
		sc.size += len(p)
		return nil
	}
	k := room
	for k > 0 && !utf8.RuneStart(p[k]) {
		k--
	}
	c.buf = append(c.buf, p[:k]...)
	sc.size += k
	sc.cut, sc.dropped = true, int64(len(p)-k)
	return nil
}

// endScalar ends the current value; a cut one is replaced by what it
// holds, decoded, quoted and marked.
func (c *chunk) endScalar() error {
	sc := c.sc
	c.sc = scalar{}
	if !sc.active || !sc.cut {
		return nil
	}
	kept := decodePartial(c.buf[sc.off:], sc.style)
	q, err := json.Marshal(kept + CutMark(sc.dropped))
	if err != nil {
		return err
	}
	c.buf = append(append(c.buf[:sc.off], q...), '\n')
	return nil
}

func (c *chunk) finish() ([]byte, error) {
	if err := c.endScalar(); err != nil {
		return nil, err
	}
	return c.buf, nil
}

// lineKey is what scalarStart finds on a line.
type lineKey struct {
	// owner is the column continuation lines must be indented past: the
	// key's, or the sequence dash's for an entry.
	owner int
	key   []byte
	// at is where the scalar value starts (0: none on this line).
	at    int
	style byte
}

// scalarStart finds where a line's scalar value starts: after `key: ` or
// after `- ` for a sequence entry.
func scalarStart(line []byte) (lineKey, bool) {
	var k lineKey
	pos := leadingSpaces(line)
	k.owner = pos
	dash := false
	for pos < len(line) && isDash(line[pos:]) {
		dash, k.owner = true, pos
		pos++
		for pos < len(line) && line[pos] == ' ' {
			pos++
		}
	}
	if pos >= len(line) || line[pos] == '#' {
		return k, false
	}
	rest := line[pos:]
	keyEnd := -1
	if rest[0] == '"' || rest[0] == '\'' {
		if end := closingQuote(rest); end > 0 {
			after := bytes.TrimLeft(rest[end+1:], " ")
			if len(after) > 0 && after[0] == ':' && (len(after) == 1 || after[1] == ' ') {
				keyEnd = len(rest) - len(after)
			}
		}
	} else {
		for i := 0; i < len(rest); i++ {
			if rest[i] == ':' && (i+1 == len(rest) || rest[i+1] == ' ') {
				keyEnd = i
				break
			}
		}
	}
	switch {
	case keyEnd >= 0:
		k.owner, k.key = pos, bytes.TrimRight(rest[:keyEnd], " ")
		k.at = pos + keyEnd + 1
		for k.at < len(line) && line[k.at] == ' ' {
			k.at++
		}
		if k.at >= len(line) || line[k.at] == '#' {
			k.at = 0 // a nested block follows
			return k, false
		}
	case dash:
		k.at = pos
	default:
		return k, false
	}
	k.style = 'p'
	switch c := line[k.at]; c {
	case '"', '\'', '{', '[':
		k.style = c
	case '|', '>':
		k.style = '|'
	}
	return k, true
}

// closingQuote is the index of the quote that ends the quoted scalar at
// the start of b, or -1 if it does not end on this line.
func closingQuote(b []byte) int {
	q := b[0]
	for i := 1; i < len(b); i++ {
		switch {
		case q == '"' && b[i] == '\\':
			i++
		case b[i] == q && q == '\'' && i+1 < len(b) && b[i+1] == '\'':
			i++
		case b[i] == q:
			return i
		}
	}
	return -1
}

// decodePartial decodes the beginning of a value that was cut: it closes
// the quote and lets the YAML parser read it, dropping trailing characters
// until it parses (a cut may fall inside an escape or a ” pair).
func decodePartial(raw []byte, style byte) string {
	closer := map[byte]string{'"': `"`, '\'': `'`}[style]
	if style == '{' || style == '[' {
		// A flow collection cut in its middle cannot be closed reliably.
		return ""
	}
	raw = bytes.TrimRight(raw, " \t\r\n")
	for try := 0; try < 32 && len(raw) > 0; try++ {
		doc := make([]byte, 0, len(raw)+8)
		doc = append(append(append(doc, "v: "...), raw...), closer...)
		var v map[string]any
		if yaml.Unmarshal(doc, &v) == nil {
			if s, ok := v["v"].(string); ok {
				return s
			}
			return fmt.Sprint(v["v"])
		}
		_, size := utf8.DecodeLastRune(raw)
		raw = bytes.TrimRight(raw[:len(raw)-size], " \t\r\n")
	}
	return ""
}
