package fix

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// FieldManager owns what xpdoctor applies.
const FieldManager = "xpdoctor"

// Apply makes the changes. With dryRun the API server validates and
// admits them without persisting (server-side dry run).
func Apply(ctx context.Context, dyn dynamic.Interface, changes []Change, dryRun bool) error {
	var dr []string
	if dryRun {
		dr = []string{metav1.DryRunAll}
	}
	for _, c := range changes {
		gv, err := schema.ParseGroupVersion(c.APIVersion)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.Kind, c.Name, err)
		}
		gvr := gv.WithResource(c.Resource)
		if c.Object != nil {
			body, _ := json.Marshal(c.Object)
			force := true
			_, err = dyn.Resource(gvr).Patch(ctx, c.Name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: FieldManager, Force: &force, DryRun: dr})
		} else {
			body, _ := json.Marshal(map[string]any{"spec": map[string]any{"package": c.To}})
			_, err = dyn.Resource(gvr).Patch(ctx, c.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager, DryRun: dr})
		}
		if err != nil {
			what := "applying"
			if dryRun {
				what = "dry run of"
			}
			return fmt.Errorf("%s %s %s: %w", what, c.Kind, c.Name, err)
		}
	}
	return nil
}
