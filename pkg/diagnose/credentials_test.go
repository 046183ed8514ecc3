package diagnose

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
	"github.com/xpdoctor/xpdoctor/pkg/xpkg"
)

// ecr401 is Crossplane's message for an ECR image it may not read
// (corpus xp-5968, https://github.com/crossplane/crossplane/pull/5968).
const (
	ecrImage = "xxxxxxxx.dkr.ecr.us-east-1.amazonaws.com/xpkg.upbound.io/upbound/provider-aws-elasticache:v0.46.1"
	ecr401   = "cannot initialize parser backend: failed to fetch package from remote: GET https://xxxxxxxx.dkr.ecr.us-east-1.amazonaws.com/v2/xpkg.upbound.io/upbound/provider-aws-elasticache/manifests/v0.46.1: unexpected status code 401 Unauthorized: Not Authorized"
)

func ecrCredentials(t *testing.T, key string) Credentials {
	t.Helper()
	kr, err := xpkg.NewKeyring([]xpkg.PullSecret{{Namespace: "crossplane-system", Name: "ecr", Type: xpkg.SecretTypeDockerConfigJSON,
		Data: map[string][]byte{xpkg.DockerConfigJSONKey: []byte(`{"auths": {"` + key + `": {"username": "AWS", "password": "expired-token"}}}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	cr := Credentials{Image: ecrImage, InspectedWith: CredentialsCrossplane, Entries: kr.Entries(),
		Secrets: []cluster.SecretRef{{Namespace: "crossplane-system", Name: "ecr", From: cluster.FromPackagePullSecrets, State: cluster.SecretFound}}}
	if m := kr.Matches(name.MustParseReference(ecrImage).Context()); len(m) > 0 {
		cr.Used = &m[0]
	} else {
		cr.CloudHelper = "ECR credential helper (IRSA, EKS pod identity or the node role)"
	}
	return cr
}

// A wildcard ECR entry matches and the registry refuses it: the token has
// expired, and the finding says ECR tokens last 12 hours.
func TestECRTokenRejected(t *testing.T) {
	p := provider("provider-aws-elasticache", ecrImage, "False", ecr401)
	p.PullSecrets = []string{"ecr"}
	s := &cluster.Snapshot{Packages: []cluster.Package{p}, CrossplaneNamespace: "crossplane-system"}
	rep := Diagnose(Input{Snapshot: s, VersionKnown: true, Targets: target(t, "v1.15.3"),
		Credentials: map[string]Credentials{"Provider/provider-aws-elasticache": ecrCredentials(t, "*.dkr.ecr.us-east-1.amazonaws.com")}})
	if rep.Packages[0].Finding != findings.PullSecretRejected {
		t.Fatalf("root cause %q: %+v", rep.Packages[0].Finding, rep.Findings)
	}
	f := rep.Findings[0]
	if !strings.Contains(f.Message, "12 hours") || !strings.Contains(f.Message, "crossplane-system/ecr entry *.dkr.ecr.us-east-1.amazonaws.com") || !strings.Contains(f.Remediation, "IRSA") {
		t.Errorf("finding %+v", f)
	}
	if strings.Contains(strings.Join(append(f.Evidence, f.Message, f.Remediation), " "), "expired-token") {
		t.Error("the finding quotes the credential")
	}
}

// An entry for another region does not match; Crossplane then asks the
// ECR credential helper with its pod's identity, which xpdoctor cannot
// see: no PullSecretNoMatch is claimed, and the evidence says so.
func TestECRNoMatchFallsToTheHelper(t *testing.T) {
	p := provider("provider-aws-elasticache", ecrImage, "False", ecr401)
	p.PullSecrets = []string{"ecr"}
	s := &cluster.Snapshot{Packages: []cluster.Package{p}, CrossplaneNamespace: "crossplane-system"}
	rep := Diagnose(Input{Snapshot: s, VersionKnown: true, Targets: target(t, "v1.15.3"),
		Credentials: map[string]Credentials{"Provider/provider-aws-elasticache": ecrCredentials(t, "*.dkr.ecr.eu-west-1.amazonaws.com")}})
	for _, f := range rep.Findings {
		if f.Code == findings.PullSecretNoMatch || f.Code == findings.PullSecretRejected {
			t.Errorf("claimed %s although Crossplane asks the ECR helper: %+v", f.Code, f)
		}
		if f.Code == findings.RegistryUnauthorized && !strings.Contains(strings.Join(f.Evidence, " "), "asks the ECR credential helper") {
			t.Errorf("evidence does not say Crossplane asks the helper: %v", f.Evidence)
		}
	}
}
