package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Discovery answers the two discovery questions the Reader asks: which
// versions of pkg.crossplane.io the server serves, and which resources each
// version has.
type Discovery interface {
	// ServerGroups lists the API groups the server serves (GET /apis).
	ServerGroups(ctx context.Context) (*metav1.APIGroupList, error)
	// ServerResourcesForGroupVersion lists the resources of GROUP/VERSION
	// (GET /apis/GROUP/VERSION).
	ServerResourcesForGroupVersion(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error)
}

// NewDiscoveryForConfig asks the API server that cfg names. It is client-go's
// legacy (non-aggregated) discovery for API groups, on the dynamic client's
// JSON REST client: k8s.io/client-go/discovery would link every built-in API
// type through its scheme (about 16 MB of the binary and 2 ms of start-up)
// for these two requests.
func NewDiscoveryForConfig(cfg *rest.Config) (Discovery, error) {
	cfg = dynamic.ConfigFor(cfg)
	// JSON only: the answers are decoded with encoding/json.
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	c, err := rest.UnversionedRESTClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return restDiscovery{c}, nil
}

type restDiscovery struct{ c rest.Interface }

func (d restDiscovery) ServerGroups(ctx context.Context) (*metav1.APIGroupList, error) {
	var l metav1.APIGroupList
	return &l, d.get(ctx, "/apis", &l)
}

func (d restDiscovery) ServerResourcesForGroupVersion(ctx context.Context, gv string) (*metav1.APIResourceList, error) {
	var l metav1.APIResourceList
	return &l, d.get(ctx, "/apis/"+gv, &l)
}

func (d restDiscovery) get(ctx context.Context, path string, into any) error {
	raw, err := d.c.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("GET %s: the answer is not a discovery document: %w", path, err)
	}
	return nil
}
