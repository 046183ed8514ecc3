package cmd

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFixAgainstAPIServer(t *testing.T) {
	pinClock(t)
	env, dyn, host := incidentCluster(t)
	up := host + "/upbound/provider-nop:v1.6.0"
	mirror := host + "/mirror/upbound/provider-nop:v1.6.0"
	damaged, _ := manifestBytes(t, mirror)
	upDigest, _ := manifestBytes(t, up)
	base := []string{"fix", "provider-docker", "provider-runtime", "--kubeconfig", env.Kubeconfig, "--upstream-registry", host + "/mirror=" + host}
	specOf := func(name string) string {
		u, err := dyn.Resource(kinds["Provider"].GVR).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, _, _ := unstructuredString(u.Object, "spec", "package")
		return s
	}
	before := specOf("provider-docker")

	// Plan and dry run: nothing changes.
	out, errOut, code := run(t, append(base, "--apply=pin")...)
	pinned := host + "/mirror/upbound/provider-nop@" + upDigest
	if code != 0 || !strings.Contains(out, "moves "+damaged+" -> "+upDigest) || !strings.Contains(out, "+ "+pinned) ||
		!strings.Contains(out, "server-side dry run: accepted") || !strings.Contains(out, "Nothing was changed") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if d, _ := manifestBytes(t, mirror); d != damaged || specOf("provider-docker") != before {
		t.Fatal("the plan changed the registry or the cluster")
	}

	// Execute.
	out, errOut, code = run(t, append(base, "--apply=pin", "--yes")...)
	if code != 0 || !strings.Contains(out, "applied 2 cluster change(s)") {
		t.Fatalf("fix: exit %d\n%s\n%s", code, out, errOut)
	}
	sameGraph(t, up, mirror)
	sameGraph(t, host+"/upbound/provider-runtime:v1.6.0", host+"/mirror/upbound/provider-runtime:v1.6.0")
	if got := specOf("provider-docker"); got != pinned {
		t.Fatalf("spec.package = %q, want %q (what the dry run showed)", got, pinned)
	}

	// Diagnose again: the repaired mirrors carry no mirror findings.
	out, _, _ = run(t, "--kubeconfig", env.Kubeconfig, "-o", "json", "--upstream-registry", host+"/mirror="+host, "provider-docker", "provider-runtime")
	_, by := codesBy(t, out)
	for name, codes := range by {
		for _, c := range codes {
			if strings.Contains(c, "BaseLayerAnnotationMissing") || strings.Contains(c, "MirrorDigestDiffers") || strings.Contains(c, "IndexCollapsed") {
				t.Errorf("%s still has %s after the fix", name, c)
			}
		}
	}

	// An ImageConfig that rewrites the upstream to the mirror, read back.
	out, errOut, code = run(t, "fix", "--kubeconfig", env.Kubeconfig, "--upstream-registry", host+"/mirror="+host, "--apply=imageconfig", "--yes")
	// Two packages have no readable upstream in this incident: exit 1 says so.
	if code != ExitFindings || !strings.Contains(out, "applied 1 cluster change(s)") || !strings.Contains(errOut, "cannot repair Function/function-runtime") {
		t.Fatalf("imageconfig: exit %d\n%s\n%s", code, out, errOut)
	}
	ics, err := dyn.Resource(schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "imageconfigs"}).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(ics.Items) != 1 {
		t.Fatalf("imageconfigs: %v %v", ics, err)
	}
	prefix, _, _ := unstructuredString(ics.Items[0].Object, "spec", "rewriteImage", "prefix")
	match := ics.Items[0].Object["spec"].(map[string]any)["matchImages"].([]any)[0].(map[string]any)["prefix"]
	// imageconfig.Prefix ends every prefix at a path boundary.
	if prefix != host+"/mirror/" || match != host+"/" {
		t.Fatalf("ImageConfig rewrites %v to %q", match, prefix)
	}
}
