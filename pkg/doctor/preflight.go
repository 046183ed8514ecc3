package doctor

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/xpdoctor/xpdoctor/pkg/preflight"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// Preflight judges an upgrade of the cluster (or dump) to Crossplane
// target, in the three steps package preflight documents: read the
// snapshot with the Compositions, read every package image where the
// running Crossplane pulls it today with the credentials it uses, list the
// tags of the dependencies no installed package provides (at most
// maxDependencyLookups), and decide with preflight.Run. CrossplaneVersion
// overrides the running version; Select, Inspect and Upstreams do not
// apply. The only errors are a target preflight cannot judge and a
// cluster or dump that cannot be read.
func Preflight(ctx context.Context, o Options, target string) (*preflight.Report, error) {
	if err := preflight.CheckTarget(target); err != nil {
		return nil, err
	}
	if o.FromFile == "" && o.Kube == nil {
		return nil, errors.New("no cluster to read: give a kubeconfig, or a support dump with --from-file")
	}
	snap, err := snapshot(ctx, o, true, nil)
	if err != nil {
		return nil, err
	}
	running := o.CrossplaneVersion
	if running == "" {
		running = snap.CrossplaneVersion()
	}
	client := registryClient(snap, o.Redactor, o.readCache(), o.Registry...)
	// Read at once; the ReadCache bounds the reads per registry host.
	images := map[string]*xpkg.Report{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for src, ref := range preflight.ImageReferences(snap, running) {
		r, err := client.ParseReference(ref)
		if err != nil {
			// Left out: preflight judges a package without its image Unknown.
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := client.Read(ctx, r, xpkg.ReadOptions{})
			mu.Lock()
			images[src] = rep
			mu.Unlock()
		}()
	}
	wg.Wait()
	in := preflight.Input{Snapshot: snap, Images: images, Running: running, Target: target}
	deps, err := preflight.DependenciesToList(in)
	if err != nil {
		return nil, err
	}
	// The first maxDependencyLookups that parse, listed at once.
	var repos []name.Repository
	var names []string
	for _, d := range deps {
		if len(repos) >= maxDependencyLookups {
			break
		}
		repo, err := name.NewRepository(d)
		if err != nil {
			continue
		}
		repos, names = append(repos, repo), append(names, d)
	}
	for i, repo := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags, err := client.ListTags(ctx, repo)
			switch {
			case repositoryUnknown(err):
				// The repository does not exist where Crossplane looks: no
				// version of the dependency resolves.
				tags = []string{}
			case err != nil:
				// Not listed: the dependency check says it could not tell.
				return
			}
			mu.Lock()
			if in.Tags == nil {
				in.Tags = map[string][]string{}
			}
			in.Tags[names[i]] = tags
			mu.Unlock()
		}()
	}
	wg.Wait()
	return preflight.Run(in)
}

// repositoryUnknown is true for the registry's own answer that a
// repository does not exist: 404 with the error code NAME_UNKNOWN (OCI
// distribution spec, "Listing Tags" and error codes; docker-registry,
// ECR and go-containerregistry's registry answer so). A bare 404, which a
// proxy or a web server in front of the registry may send, is not taken
// as that.
func repositoryUnknown(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
