package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/internal/testregistry"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg/xpkgtest"
)

// -o json prints the plan (without --yes) and the result (with it), with
// the digest each destination names afterwards, as crane digest prints it;
// stdout holds the JSON alone.
func TestMirrorJSON(t *testing.T) {
	reg := testregistry.InProcess(t)
	src := reg.Host + "/upbound/provider-nop:v1.6.0"
	if err := xpkgtest.Push(src, provider.Index()); err != nil {
		t.Fatal(err)
	}
	dst := testregistry.InProcess(t).Host + "/mirror/provider-nop:v1.6.0"
	want, _ := manifestBytes(t, src)
	out, errOut, code := run(t, "mirror", src, dst, "-o", "json")
	var plan struct {
		Kind  string `json:"kind"`
		Items []struct {
			Digest string `json:"digest"`
			Action string `json:"action"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &plan); code != 0 || err != nil || plan.Kind != "TransferPlan" || plan.Items[0].Digest != want || plan.Items[0].Action != "copy" {
		t.Fatalf("plan: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	out, errOut, code = run(t, "mirror", src, dst, "-o", "json", "--yes")
	var res struct {
		Kind  string `json:"kind"`
		Items []struct {
			Destination string `json:"destination"`
			Digest      string `json:"digest"`
			Tag         string `json:"tag"`
			BlobsCopied int    `json:"blobsCopied"`
			Verified    string `json:"verified"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Kind != "TransferResult" || res.Items[0].Digest != want ||
		res.Items[0].Tag != "created" || res.Items[0].BlobsCopied == 0 || !strings.Contains(res.Items[0].Verified, "read back by digest") {
		t.Fatalf("result: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	if got, _ := manifestBytes(t, dst); got != res.Items[0].Digest {
		t.Fatalf("the JSON says %s, the registry %s", res.Items[0].Digest, got)
	}
}
