package inspect

import (
	"strings"
	"testing"

	"github.com/xpdoctor/xpdoctor/pkg/crossplane"
)

// A port that contains 401 or 403 is not a refusal: TestDependencies failed
// when the in-process registry listened on 127.0.0.1:40399.
func TestDependencyFixReadsTheStatusNotThePort(t *testing.T) {
	cases := []struct {
		failure, want string
	}{
		{"cannot fetch dependency package tags: GET https://127.0.0.1:40399/v2/up/provider-gone/tags/list: NAME_UNKNOWN: repository name not known to registry", "mirror it there"},
		{"cannot fetch dependency package tags: GET https://127.0.0.1:4013/v2/up/x/tags/list: NAME_UNKNOWN: repository name not known to registry", "mirror it there"},
		{"cannot fetch dependency package tags: GET https://reg.example.com/v2/up/x/tags/list: UNAUTHORIZED: authentication required", "credentials"},
		{"cannot fetch dependency package tags: GET https://reg.example.com/v2/up/x/tags/list: DENIED: requested access to the resource is denied", "credentials"},
		{"cannot fetch dependency package tags: GET https://reg.example.com/v2/up/x/tags/list: unexpected status code 401 Unauthorized (HEAD responses have no body, use GET for details)", "credentials"},
		{"cannot fetch dependency package tags: GET https://reg.example.com/v2/up/x/tags/list: unexpected status code 403 Forbidden", "credentials"},
	}
	for _, c := range cases {
		got := dependencyFix(crossplane.DependencyVerdict{Package: "reg/up/x", Failure: c.failure})
		if !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got %q\nwant it to contain %q", c.failure, got, c.want)
		}
	}
}
