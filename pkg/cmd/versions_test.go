package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

// Crossplane releases before v1.13 still run in the field (crossplane/
// crossplane#3329 is v1.9.1): inspect judges them as the oldest generation
// it models and says so in the verdict, instead of refusing the version.
func TestInspectOlderThanModelled(t *testing.T) {
	host := pushIncident(t)
	out, errOut, code := run(t, "inspect", host+"/upbound/provider-nop:v1.6.0", "--crossplane-version", "v1.9.1", "-o", "json")
	var rep struct {
		Images []struct {
			Verdicts []struct {
				Crossplane string `json:"crossplaneVersions"`
				Outcome    string
				Message    string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s %s", err, out, errOut)
	}
	v := rep.Images[0].Verdicts[0]
	// The package asks for >=v1.14.0-0: v1.9.1 is outside it, with its own version in the message.
	if code != ExitFindings || v.Crossplane != "v1.9.1 (judged as v1.13)" || v.Outcome != "Fail" ||
		v.Message != "incompatible Crossplane version: package is not compatible with Crossplane version (v1.9.1)" {
		t.Fatalf("exit %d: %+v", code, v)
	}
	if strings.Contains(errOut, "not model") {
		t.Fatalf("refused the version: %s", errOut)
	}
}
