#!/usr/bin/env bash
# The whole test suite (`make test`) on a fresh Debian 12 machine with Go on
# PATH. Run as root, it first installs what is missing with apt:
#   make git ca-certificates docker-registry docker.io bash-completion
# (docker.io gives the e2e suite its dockerd, which needs root). `make test`
# then builds the cached parts once, into XPDOCTOR_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor, outside the checkout):
# kube-apiserver, etcd and kubectl, Crossplane core v2.3.4 and v2.1.3, krew.
set -euo pipefail
cd "$(dirname "$0")/.."
me=test/run.sh

command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
  echo "$me: Go is not installed: install Go $(awk '/^go /{print $2}' go.mod) from https://go.dev/dl/ and put it on PATH" >&2
  exit 1
fi

need=()
for want in make:make git:git docker-registry:docker-registry dockerd:docker.io; do
  command -v "${want%%:*}" >/dev/null 2>&1 || need+=("${want#*:}")
done
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$me: missing ${need[*]}: run as root, or: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  echo "$me: installing with apt: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

export XPDOCTOR_CACHE=${XPDOCTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor}
echo "$me: $(go version); cached builds in $XPDOCTOR_CACHE" >&2
go mod download
exec make test
