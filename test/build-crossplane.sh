#!/usr/bin/env bash
# Builds Crossplane core (to run out of cluster against envtest) from the Go
# module proxy into a cache directory and prints the binary's path.
# The proxy refuses `go install` for crossplane modules (@v/list is 403), so
# this uses a scratch module (../shared/reference/test-infrastructure.md s.5).
# Usage: test/build-crossplane.sh VERSION [DIR]   VERSION: v2.3.4, v2.1.3 or v1.20.0
# (default DIR: $XPDOCTOR_CACHE/crossplane, XPDOCTOR_CACHE defaulting to
# ${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor)
set -euo pipefail
ver=${1:?usage: build-crossplane.sh v2.3.4|v2.1.3|v1.20.0 [cache dir]}
out=${2:-${XPDOCTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor}/crossplane}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin="$out/crossplane-$ver"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
work="$out/src-$ver"
mkdir -p "$work"
cd "$work"
# Module path and version variable per major version; without the version,
# every package with spec.crossplane.version fails lint.
case "$ver" in
  v2.3.*) # core v2.3 replaces its apis module with ./apis: require both.
    mod=github.com/crossplane/crossplane/v2
    printf 'module x/xpcore\n\ngo 1.26.0\n\nrequire (\n\t%s %s\n\tgithub.com/crossplane/crossplane/apis/v2 %s\n)\n' "$mod" "$ver" "$ver" > go.mod
    vpkg=github.com/crossplane/crossplane-runtime/v2/pkg/version.version ;;
  v2.*)
    mod=github.com/crossplane/crossplane/v2
    printf 'module x/xpcore\n\ngo 1.26.0\n\nrequire %s %s\n' "$mod" "$ver" > go.mod
    vpkg=$mod/internal/version.version ;;
  v1.*) # v1 is one module, apis included (go.mod@v1.20.0 has no replace).
    mod=github.com/crossplane/crossplane
    printf 'module x/xpcore\n\ngo 1.26.0\n\nrequire %s %s\n' "$mod" "$ver" > go.mod
    vpkg=$mod/internal/version.version ;;
  *) echo "unsupported Crossplane version $ver" >&2; exit 2 ;;
esac
printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/crossplane"\n' "$mod" > tools.go
echo "building crossplane core $ver (a few minutes cold)..." >&2
GOFLAGS=-mod=mod go mod tidy >&2
go build -ldflags "-s -w -X $vpkg=$ver" -o "$bin.tmp" "$mod/cmd/crossplane"
mv "$bin.tmp" "$bin"
echo "$bin"
