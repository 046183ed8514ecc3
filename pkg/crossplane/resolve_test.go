package crossplane

import "testing"

func TestResolveDependency(t *testing.T) {
	tags := []string{"v1.0.0", "v1.2.0", "v1.10.0", "v1.11.0-rc.1", "v2.0.0", "v1", "latest", "1.5.0", "v1.2"}
	cases := []struct {
		constraint, want string
		wantErr          bool
	}{
		{">=v1.2.0", "v2.0.0", false},
		{">=v1.2.0, <v2.0.0", "v1.10.0", false},        // highest, numerically (not v1.2 or 1.5.0 by string)
		{"~v1.2.0", "v1.2.0", false},                   // "v1.2" is incomplete and skipped
		{"^1.0.0", "v1.10.0", false},                   // v prefix optional in the constraint
		{">=v1.11.0-0 <v2.0.0", "v1.11.0-rc.1", false}, // pre-releases only when asked
		{"v1.0.0", "v1.0.0", false},
		{"", "v2.0.0", false},
		{">=v3.0.0", "", true},
		{"not a constraint", "", true},
		{"sha256:" + "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2", "sha256:a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2", false},
	}
	for _, c := range cases {
		got, err := ResolveDependency(c.constraint, tags)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%q: got %q, %v; want %q (error %v)", c.constraint, got, err, c.want, c.wantErr)
		}
	}
	if got, _ := ResolveDependency(">=1.0.0", []string{"1.5.0", "v1.4.0"}); got != "1.5.0" {
		t.Errorf("tags keep their original spelling: %q", got)
	}
}
