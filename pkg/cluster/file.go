package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// MaxDumpBytes bounds a --from-file support dump.
const MaxDumpBytes = 512 << 20

// ReadFile reads a support dump: the output of
// `kubectl get providers,providerrevisions,...,deployments,pods,events -A -o yaml`
// (a List), or any stream of YAML/JSON objects and Lists.
func ReadFile(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading support dump: %w", err)
	}
	defer f.Close()
	s, err := ReadDump(io.LimitReader(f, MaxDumpBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Source = path
	return s, nil
}

// ReadDump reads a support dump from r.
func ReadDump(r io.Reader) (*Snapshot, error) {
	s := &Snapshot{FromDump: true}
	counter := &countingReader{r: r}
	dec := utilyaml.NewYAMLOrJSONDecoder(counter, 64<<10)
	docs := 0
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a kubectl -o yaml/json dump (document %d): %w", docs+1, err)
		}
		if counter.n > MaxDumpBytes {
			return nil, fmt.Errorf("dump is larger than %d bytes", MaxDumpBytes)
		}
		docs++
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			items, _, _ := unstructured.NestedSlice(obj, "items")
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					s.Add(&unstructured.Unstructured{Object: m})
				}
			}
			continue
		}
		s.Add(u)
	}
	if docs == 0 {
		return nil, errors.New("the dump is empty")
	}
	s.Finish()
	return s, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
