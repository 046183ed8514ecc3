#!/usr/bin/env bash
# Mirror benchmark: xpdoctor mirror vs crane copy vs skopeo copy --all,
# side by side between two loopback docker-registry processes. Writes
# bench/RESULTS.md. Installs what it needs (crane with go install, skopeo and
# GNU time from apt). Usage: bench/run.sh [RUNS]   (default 3; medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v skopeo >/dev/null && [ -x /usr/bin/time ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo time docker-registry >/dev/null; }
command -v docker-registry >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null; }
GOBIN="$work/bin" GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
go build -o "$work/bin/kubectl-xpdoctor" ./cmd/kubectl-xpdoctor
go build -o "$work/bin/mkfixture" ./bench/mkfixture
go build -o "$work/bin/countproxy" ./bench/countproxy
export PATH="$work/bin:$PATH" DOCKER_CONFIG="$work/docker"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_registry() { # name -> host:port
  local port; port=$(free_port)
  mkdir -p "$work/$1"
  printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:%s}\n' "$work/$1/data" "$port" > "$work/$1/config.yml"
  docker-registry serve "$work/$1/config.yml" > "$work/$1/log" 2>&1 & pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}
src=$(start_registry src)
dstreg=$(start_registry dst)
pport=$(free_port)
countproxy -listen "127.0.0.1:$pport" -target "http://$dstreg" > "$work/proxy.log" 2>&1 & pids+=($!)
dst="127.0.0.1:$pport"
for _ in $(seq 100); do curl -fs "http://$dst/v2/" >/dev/null && break; sleep 0.1; done

mkfixture -registry "$src" -runtime-mb 50                # 2 platforms x 50 MB
mkfixture -registry "$src" -runtime-mb 20 -family 10      # 10 providers sharing 20 MB
uploaded() { curl -fs "http://$dst/__bytes"; }

# measure LABEL CMD...: prints "seconds maxrss_kb uploaded_bytes"
measure() {
  uploaded >/dev/null
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  echo "$(cat "$work/time") $(uploaded)"
}
copy_cmd() { # tool src dst
  case $1 in
    xpdoctor) echo kubectl-xpdoctor mirror "$2" "$3" --yes -q ;;
    crane) echo crane copy --insecure "$2" "$3" ;;
    skopeo) echo skopeo copy --all --src-tls-verify=false --dest-tls-verify=false "docker://$2" "docker://$3" ;;
  esac
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# skopeo remembers where blobs live in a local blob-info cache and reuses them
# across repositories; start each scenario without it, as on a fresh machine.
clear_skopeo_cache() { rm -rf /var/lib/containers/cache "$HOME/.local/share/containers/cache"; }

declare -A T M B
for tool in xpdoctor crane skopeo; do
  for r in $(seq "$runs"); do
    clear_skopeo_cache
    to="$dst/$tool-$r/upbound/provider-big:v1.6.0"
    read -r s m b < <(measure $(copy_cmd $tool "$src/upbound/provider-big:v1.6.0" "$to"))
    T[$tool,first]+="$s "; M[$tool,first]+="$m "; B[$tool,first]+="$b "
    read -r s m b < <(measure $(copy_cmd $tool "$src/upbound/provider-big:v1.6.0" "$to"))
    T[$tool,repeat]+="$s "; M[$tool,repeat]+="$m "; B[$tool,repeat]+="$b "
    # Family: 10 providers into one registry.
    clear_skopeo_cache
    if [ "$tool" = xpdoctor ]; then
      : > "$work/family.txt"
      for i in $(printf "%02d " $(seq 0 9)); do echo "$src/upbound/provider-aws-svc$i:v1.6.0 $dst/fam-$tool-$r/upbound/provider-aws-svc$i:v1.6.0" >> "$work/family.txt"; done
      read -r s m b < <(measure kubectl-xpdoctor mirror --from-file "$work/family.txt" --yes -q)
    else
      printf '#!/bin/sh\nset -e\n' > "$work/family.sh"
      for i in $(printf "%02d " $(seq 0 9)); do echo "$(copy_cmd $tool "$src/upbound/provider-aws-svc$i:v1.6.0" "$dst/fam-$tool-$r/upbound/provider-aws-svc$i:v1.6.0")" >> "$work/family.sh"; done
      read -r s m b < <(measure sh "$work/family.sh")
    fi
    T[$tool,family]+="$s "; M[$tool,family]+="$m "; B[$tool,family]+="$b "
  done
done

# Peak memory on a 500 MB package (2 x 250 MB layers), xpdoctor only.
mkfixture -registry "$src" -runtime-mb 250 >/dev/null 2>&1 || true
big=$(measure kubectl-xpdoctor mirror "$src/upbound/provider-big:v1.6.0" "$dst/big/upbound/provider-big:v1.6.0" --yes -q)

# Inspect: bytes fetched vs the minimum and vs crane export, on a package with
# a 100 MB runtime layer, downloads counted by a proxy in front of the source.
mkfixture -registry "$src" -runtime-mb 100 >/dev/null
sport=$(free_port)
countproxy -listen "127.0.0.1:$sport" -target "http://$src" > "$work/sproxy.log" 2>&1 & pids+=($!)
sp="127.0.0.1:$sport"
for _ in $(seq 100); do curl -fs "http://$sp/v2/" >/dev/null && break; sleep 0.1; done
curl -fs "http://$sp/__down" >/dev/null
kubectl-xpdoctor inspect "$sp/upbound/provider-big:v1.6.0" -o json --exit-zero > "$work/inspect.json"
inspect_down=$(curl -fs "http://$sp/__down")
minimum=$(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["images"][0]
p=[x for x in r["platforms"] if x["selected"]][0]
base=sum(l["size"] for i,l in enumerate(p["layers"]) if i in p["baseLayers"])
print(p["manifestSize"]+p["configSize"]+base)' "$work/inspect.json")
crane export --insecure "$sp/upbound/provider-big:v1.6.0" - > /dev/null
crane_down=$(curl -fs "http://$sp/__down")

# The Go benchmarks beside the code: inspect bytes and scaling, diagnose end
# to end against envtest (built by make envtest) with API request counts.
gobench=$(go test ./pkg/xpkg -run '^$' -bench 'Inspect' -benchtime 5x 2>&1 | grep '^Benchmark'; \
  go test ./pkg/inspect -run '^$' -bench 'InspectPackages' -benchtime 3x 2>&1 | grep '^Benchmark'; \
  envtest=${XPDOCTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor}/envtest; \
  if [ -x "$envtest/kube-apiserver" ]; then KUBEBUILDER_ASSETS=$envtest go test ./pkg/cmd -run '^$' -bench 'Diagnose' -benchtime 3x 2>&1 | grep '^Benchmark'; fi)

med() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
{
  echo "# Mirror benchmark"
  echo
  echo "Generated by \`bench/run.sh $runs\` on $(date -u +%Y-%m-%d). Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), $(go version | awk '{print $3}'), docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null), crane v0.22.1, skopeo $(skopeo --version | awk '{print $3}')."
  echo "Two docker-registry processes on loopback; uploads are counted by a proxy in front of the destination. Median of $runs runs; each run copies into fresh repositories."
  echo
  echo "| scenario | tool | wall s (median) | peak RSS MiB | uploaded MB | all runs (s) |"
  echo "|---|---|---|---|---|---|"
  for sc in first repeat family; do
    for tool in xpdoctor crane skopeo; do
      t=$(med "${T[$tool,$sc]}"); m=$(med "${M[$tool,$sc]}"); b=$(med "${B[$tool,$sc]}")
      printf '| %s | %s | %s | %.0f | %.1f | %s |\n' "$sc" "$tool" "$t" "$(echo "$m/1024" | bc -l)" "$(echo "$b/1000000" | bc -l)" "${T[$tool,$sc]}"
    done
  done
  echo
  read -r bs bm bb <<<"$big"
  echo
  echo "Peak RSS of xpdoctor copying a 500 MB package (2 x 250 MB layers): $(echo "$bm/1024" | bc) MiB in ${bs} s."
  echo
  echo
  echo "Inspect of a 2-platform package with a 100 MB runtime layer per platform (downloads counted by a proxy): xpdoctor fetched $inspect_down bytes; Crossplane's minimum for the selected image (manifest + config + base layer, without the index) is $minimum bytes; \`crane export\` (the flattened filesystem people use to look for package.yaml) fetched $crane_down bytes."
  echo
  echo "Go benchmarks (\`go test -bench\`; ns/op is wall time per run):"
  echo
  echo '```'
  echo "$gobench"
  echo '```'
  echo
  echo "Scenarios: **first** = a 2-platform package (2 x 50 MB runtime layers + small package layers) into a new repository; **repeat** = the same copy again (everything present); **family** = 10 providers sharing one 20 MB runtime layer into 10 new repositories of one registry (unique blob bytes: about 21 MB)."
} > bench/RESULTS.md
cat bench/RESULTS.md
