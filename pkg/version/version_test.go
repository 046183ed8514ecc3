package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		name                  string
		version, commit, date string // ldflags
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"ldflags win", "v0.1.0", "abc1234", "2026-11-27T00:00:00Z",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.9"}, Settings: vcs("vcs.revision", rev, "vcs.time", "2026-01-01T00:00:00Z")},
			Info{Version: "v0.1.0", Commit: "abc1234", BuildDate: "2026-11-27T00:00:00Z"}},
		{"go install ...@v0.2.0: the module version, no VCS", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}},
			Info{Version: "v0.2.0", Commit: "unknown", BuildDate: "unknown"}},
		{"go build in a checkout: the pseudo-version and VCS stamps", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261127000000-0123456789ab"}, Settings: vcs("vcs.revision", rev, "vcs.time", "2026-11-27T00:00:00Z", "vcs.modified", "false")},
			Info{Version: "v0.0.0-20261127000000-0123456789ab", Commit: rev, BuildDate: "2026-11-27T00:00:00Z"}},
		{"uncommitted changes say so", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", rev, "vcs.time", "2026-11-27T00:00:00Z", "vcs.modified", "true")},
			Info{Version: "dev", Commit: rev + "-dirty", BuildDate: "2026-11-27T00:00:00Z"}},
		{"nothing known", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			Info{Version: "dev", Commit: "unknown", BuildDate: "unknown"}},
		{"no build information", "", "", "", nil, Info{Version: "dev", Commit: "unknown", BuildDate: "unknown"}},
	}
	for _, c := range cases {
		got := get(c.version, c.commit, c.date, c.bi)
		got.GoVersion, got.Platform = "", ""
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
