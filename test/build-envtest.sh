#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver + etcd) and kubectl from
# the Go module proxy into a cache directory, and prints that directory.
# Pinned versions; cold build about 12 minutes on 2 cores, then cached.
# Usage: test/build-envtest.sh [DIR]   (default: $XPDOCTOR_CACHE/envtest,
# XPDOCTOR_CACHE defaulting to ${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor)
set -euo pipefail
KV=1.37.2           # kube-apiserver (k8s.io/kubernetes)
SV=0.${KV#1.}       # its staging modules
EV=3.7.3            # etcd (k8s 1.37 pins the 3.7 client)
out=${1:-${XPDOCTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor}/envtest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work="$out/src"
mkdir -p "$work/k8s" "$work/etcd"

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KV -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KV#1.}"
if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kubectl" ]; then
  cd "$work/k8s"
  if ! grep -q cmd/kubectl tools.go 2>/dev/null; then
    go mod download -json "k8s.io/kubernetes@v$KV" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | xargs cat > k8s.mod
    {
      echo "module x/k8sbuild"; echo
      echo "go $(awk '/^go /{print $2}' k8s.mod)"; echo
      echo "require k8s.io/kubernetes v$KV"; echo
      echo "replace ("
      # sample-cli-plugin and sample-controller are not served; they are not needed.
      sed -n '/^replace (/,/^)/p' k8s.mod | awk '/=>/{print $1}' | grep -vE 'k8s.io/sample-(cli-plugin|controller)' | while read -r m; do echo "	$m => $m v$SV"; done
      echo ")"
    } > go.mod
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
    GOFLAGS=-mod=mod go mod tidy >&2
  fi
  if [ ! -x "$out/kube-apiserver" ]; then
    echo "building kube-apiserver v$KV (about 9 minutes cold)..." >&2
    go build -ldflags "$ldflags" -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
  fi
  # kubectl, as envtest's asset bundles carry it: the plugin and completion
  # tests need 1.26+ (Debian 12's kubernetes-client is 1.20).
  if [ ! -x "$out/kubectl" ]; then
    echo "building kubectl v$KV (a few minutes cold, less after kube-apiserver)..." >&2
    go build -ldflags "$ldflags" -o "$out/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
    mv "$out/kubectl.tmp" "$out/kubectl"
  fi
fi

if [ ! -x "$out/etcd" ]; then
  echo "building etcd v$EV..." >&2
  cd "$work/etcd"
  printf 'module x/etcd\n\ngo 1.26.0\n' > go.mod
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
  GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@v$EV" >&2
  GOFLAGS=-mod=mod go mod tidy >&2
  go build -ldflags "-s -w" -o "$out/etcd.tmp" .
  mv "$out/etcd.tmp" "$out/etcd"
fi
echo "$out"
