// Package version holds build information: stamped in with -ldflags -X by
// `make build` and releases, else read from what the Go toolchain records in
// every binary (the module version for `go install ...@vX`, the VCS revision
// and time for a build in a checkout).
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped at build time: -X github.com/xpdoctor/xpdoctor/pkg/version.Version=v0.1.0 (etc.).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Unknown fills what neither ldflags nor the build information say.
const (
	devVersion = "dev"
	unknown    = "unknown"
)

// Info is the version report.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(Version, Commit, Date, bi)
}

// get prefers what ldflags stamped, then the build information.
func get(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var biVersion, revision, vcsTime string
	modified := false
	if bi != nil {
		// "(devel)" is what a build outside a module version and VCS says.
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			biVersion = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
	}
	if revision != "" && modified {
		revision += "-dirty"
	}
	info.Version = first(version, biVersion, devVersion)
	info.Commit = first(commit, revision, unknown)
	info.BuildDate = first(date, vcsTime, unknown)
	return info
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
