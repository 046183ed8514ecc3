package crossplane

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// RemovedFlag is a `crossplane core start` flag a release no longer accepts.
// Crossplane parses its flags with kong, which refuses an unknown flag and
// exits before starting (`crossplane: error: unknown flag --NAME`, seen with
// the real v2.3.4 and v2.1.3 cores); a few removed flags are kept hidden and
// refused with their own message when set.
type RemovedFlag struct {
	// Flag is the long name without dashes; Short its one-letter alias.
	Flag  string
	Short string
	// Since is the first release that refuses it.
	Since *semver.Version
	// WhenTrue is set for hidden booleans refused only when true.
	WhenTrue bool
	// Message is what Crossplane prints (after "crossplane: error: ").
	Message string
	// Instead says what to do instead.
	Instead string
	// Source cites where the change is.
	Source string
}

// RemovedFlags are the core flags a v1.x Crossplane accepted that a later
// release refuses. Found by comparing startCommand in
// cmd/crossplane/core/core.go at each tag from v1.13.0 to v2.3.4.
var RemovedFlags = []RemovedFlag{
	{Flag: "registry", Short: "r", Since: v("2.0.0"),
		// The hidden flag is refused when set; -r is gone, so kong reports it unknown.
		Message: "the --registry flag is no longer supported since support for a default registry value has been removed. Please ensure that all packages have fully qualified names that explicitly state their registry. This also applies to all of a packages dependencies",
		Instead: "remove --registry from Crossplane's args (Helm value args) after qualifying every package and dependency with its registry",
		Source:  "cmd/crossplane/core/core.go@v2.0.0 (PR https://github.com/crossplane/crossplane/pull/6548)"},
	{Flag: "enable-external-secret-stores", Since: v("2.0.0"), WhenTrue: true,
		Message: "Crossplane removed support for external secret stores. The --enable-external-secret-stores flag will be removed in a future release.",
		Instead: "migrate off external secret stores, then remove the flag",
		Source:  "cmd/crossplane/core/core.go@v2.0.0"},
	{Flag: "enable-composition-webhook-schema-validation", Since: v("2.0.0"), WhenTrue: true,
		Message: "Crossplane now uses CEL to validate Compositions. The --enable-composition-webhook-schema-validation flag will be removed in a future release.",
		Instead: "remove the flag",
		Source:  "cmd/crossplane/core/core.go@v2.0.0"},
	{Flag: "enable-composition-functions", Since: v("2.0.0"), Message: "unknown flag --enable-composition-functions",
		Instead: "remove the flag (functions are always on)", Source: "cmd/crossplane/core/core.go@v1.20.0 (hidden) and @v2.0.0 (gone)"},
	{Flag: "enable-composition-functions-extra-resources", Since: v("2.0.0"), Message: "unknown flag --enable-composition-functions-extra-resources",
		Instead: "remove the flag", Source: "cmd/crossplane/core/core.go@v1.20.0 (hidden) and @v2.0.0 (gone)"},
	{Flag: "enable-composition-revisions", Since: v("2.0.0"), Message: "unknown flag --enable-composition-revisions",
		Instead: "remove the flag", Source: "cmd/crossplane/core/core.go@v1.20.0 (hidden) and @v2.0.0 (gone)"},
	{Flag: "enable-environment-configs", Since: v("2.0.0"), Message: "unknown flag --enable-environment-configs",
		Instead: "remove the flag (EnvironmentConfigs are always on)", Source: "cmd/crossplane/core/core.go@v1.20.0 (hidden) and @v2.0.0 (gone)"},
	{Flag: "automatic-dependency-downgrade-enabled", Since: v("1.20.0"), Message: "unknown flag --automatic-dependency-downgrade-enabled",
		Instead: "use --enable-dependency-version-downgrades", Source: "cmd/crossplane/core/core.go@v1.19.0 and @v1.20.0"},
}

// CoreArgs are the flags found in Crossplane's container args.
type CoreArgs struct {
	// Values maps a long flag name (no dashes) to its value ("true" for a
	// bare boolean); a short flag is stored under its long name.
	Values map[string]string
	// Raw keeps how each flag was written, for evidence.
	Raw map[string]string
}

// ParseCoreArgs reads `--name`, `--name=value`, `--name value` and `-r value`
// forms, the way kong accepts them. A value-less flag followed by another
// flag is a boolean.
func ParseCoreArgs(args []string) CoreArgs {
	out := CoreArgs{Values: map[string]string{}, Raw: map[string]string{}}
	short := map[string]string{}
	for _, f := range RemovedFlags {
		if f.Short != "" {
			short[f.Short] = f.Flag
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var key, val string
		hasVal := false
		switch {
		case strings.HasPrefix(a, "--"):
			key = strings.TrimPrefix(a, "--")
			key, val, hasVal = strings.Cut(key, "=")
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			long, ok := short[a[1:2]]
			if !ok {
				continue
			}
			key = long
			if rest := strings.TrimPrefix(a[2:], "="); rest != "" {
				val, hasVal = rest, true
			}
		default:
			continue
		}
		if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && takesValue(key) {
			val, hasVal = args[i+1], true
			i++
		}
		if !hasVal {
			val = "true"
		}
		out.Values[key] = val
		out.Raw[key] = a
	}
	return out
}

// takesValue is true for the string flags of RemovedFlags (the others are booleans).
func takesValue(flag string) bool { return flag == "registry" }

// Refusal is a flag a version refuses, as it was written, and what
// Crossplane prints.
type Refusal struct {
	RemovedFlag
	Written string
	Message string
}

// Refused returns the flags of args that version refuses at startup.
func (a CoreArgs) Refused(version *semver.Version) []Refusal {
	core, _ := version.SetPrerelease("")
	var out []Refusal
	for _, f := range RemovedFlags {
		val, set := a.Values[f.Flag]
		if !set || core.LessThan(f.Since) {
			continue
		}
		if f.WhenTrue && !strings.EqualFold(val, "true") {
			continue
		}
		if takesValue(f.Flag) && val == "" {
			continue // the hidden --registry is refused only when not empty
		}
		r := Refusal{RemovedFlag: f, Written: a.Raw[f.Flag], Message: f.Message}
		if f.Short != "" && !strings.HasPrefix(r.Written, "--") {
			// kong no longer knows the short alias (real v2.3.4 core:
			// `unknown flag -r, did you mean one of "-h", ...`).
			r.Message = "unknown flag -" + f.Short
		}
		out = append(out, r)
	}
	return out
}
