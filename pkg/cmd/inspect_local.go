package cmd

import (
	"encoding/json"
	"strings"

	"github.com/xpdoctor/xpdoctor/pkg/inspect"
	"github.com/xpdoctor/xpdoctor/pkg/transfer"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// localImages are the oci:DIR and oci-archive:FILE arguments of inspect:
// each reference the layout records is judged, through transfer's reader
// of layouts served as a loopback registry (transfer.ServeLocal), so that
// an export is checked before it is carried across the air gap.
type localImages struct {
	engine *transfer.Engine
	served []*transfer.LocalRegistry
	// byServed maps a served reference to what it is.
	byServed map[string]transfer.LocalRef
}

// expand replaces each local request with one request per recorded
// reference; the upstream of a recorded reference is what --upstream or
// --upstream-registry says of the reference recorded.
func (o *inspectOptions) expand(client *xpkg.Client) ([]inspect.Request, *localImages, error) {
	var out []inspect.Request
	var local *localImages
	for _, req := range o.requests {
		kind, path := transfer.ParseLocation(req.Reference)
		if kind == transfer.Registry {
			out = append(out, req)
			continue
		}
		if local == nil {
			local = &localImages{engine: transfer.New(client, transfer.Options{}), byServed: map[string]transfer.LocalRef{}}
		}
		lr, err := local.engine.ServeLocal(kind, path)
		if err != nil {
			local.close()
			return nil, nil, err
		}
		local.served = append(local.served, lr)
		for _, r := range lr.Refs {
			up := req.Upstream
			if len(o.maps) > 0 {
				up, _ = xpkg.MapAll(o.maps, r.Recorded)
			}
			local.byServed[r.Served] = r
			out = append(out, inspect.Request{Reference: r.Served, Upstream: up})
		}
	}
	return out, local, nil
}

func (l *localImages) close() {
	if l == nil {
		return
	}
	for _, s := range l.served {
		s.Close()
	}
	l.engine.Close()
}

// relabel names each image read from a layout as the user named it, and
// every text about it as about the reference the layout records (the
// loopback address and served path are this process's, nobody else's).
func (l *localImages) relabel(rep *inspect.Report) {
	if l == nil {
		return
	}
	for i, img := range rep.Images {
		r, ok := l.byServed[img.Reference]
		if !ok {
			continue
		}
		host, servedRepo, _ := strings.Cut(xpkg.RepositoryOf(r.Served), "/")
		recordedRepo := xpkg.RepositoryOf(r.Recorded)
		recordedHost, recordedPath, _ := strings.Cut(recordedRepo, "/")
		b, err := json.Marshal(img)
		if err != nil {
			continue
		}
		s := strings.NewReplacer(
			host+"/v2/"+servedRepo+"/", recordedHost+"/v2/"+recordedPath+"/",
			r.Served, r.Recorded,
			host+"/"+servedRepo, recordedRepo,
		).Replace(string(b))
		var out inspect.Image
		if json.Unmarshal([]byte(s), &out) != nil {
			continue
		}
		out.Reference = r.Location
		rep.Images[i] = out
	}
}
