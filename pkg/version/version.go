// Package version holds build information stamped in with -ldflags -X.
package version

import "runtime"

// Stamped at build time: -X github.com/xpdoctor/xpdoctor/pkg/version.Version=v0.1.0 (etc.).
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
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
	return Info{Version: Version, Commit: Commit, BuildDate: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
