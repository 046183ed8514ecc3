#!/usr/bin/env bash
# Mirror benchmark: xpdoctor mirror vs crane copy vs regctl image copy vs
# skopeo copy --all, side by side in one run, between two loopback
# docker-registry processes, each behind bench/countproxy, which adds a fixed
# latency to every request (0 ms, then 25 ms: real registries answer in 20 to
# 80 ms) and counts requests and bytes. Writes bench/RESULTS.md. Installs
# what it needs (crane and regctl with go install, skopeo, GNU time and
# docker-registry from apt). Usage: bench/run.sh [RUNS]   (default 3; medians)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
latencies=${LATENCIES:-"0 25"}
work=$(mktemp -d)
# Servers started in $(...) subshells record their pids in a file.
cleanup() { [ -f "$work/pids" ] && while read -r p; do kill "$p" 2>/dev/null || true; done < "$work/pids"; rm -rf "$work"; }
trap cleanup EXIT

need_apt=
for c in skopeo docker-registry; do command -v $c >/dev/null || need_apt=1; done
[ -x /usr/bin/time ] || need_apt=1
if [ -n "$need_apt" ]; then apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo time docker-registry >/dev/null; fi
crane_version=v0.22.1
regctl_version=v0.11.7
GOBIN="$work/bin" GOFLAGS= go install github.com/google/go-containerregistry/cmd/crane@$crane_version
GOBIN="$work/bin" GOFLAGS= go install github.com/regclient/regclient/cmd/regctl@$regctl_version
go build -o "$work/bin/kubectl-xpdoctor" ./cmd/kubectl-xpdoctor
go build -o "$work/bin/mkfixture" ./bench/mkfixture
go build -o "$work/bin/countproxy" ./bench/countproxy
export PATH="$work/bin:$PATH" DOCKER_CONFIG="$work/docker"
# regctl keeps its registry settings under $HOME: give it its own.
mkdir -p "$work/home"
regctl() { HOME="$work/home" command regctl "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fs "http://$1/v2/" >/dev/null && return; sleep 0.1; done; echo "$1 did not come up" >&2; exit 1; }
start_registry() { # name -> host:port
  local port; port=$(free_port)
  mkdir -p "$work/$1"
  printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:%s}\n' "$work/$1/data" "$port" > "$work/$1/config.yml"
  docker-registry serve "$work/$1/config.yml" > "$work/$1/log" 2>&1 & echo $! >> "$work/pids"
  wait_up "127.0.0.1:$port"
  echo "127.0.0.1:$port"
}
start_proxy() { # target latency-ms -> host:port
  local port; port=$(free_port)
  countproxy -listen "127.0.0.1:$port" -target "http://$1" -latency "${2}ms" > "$work/proxy-$port.log" 2>&1 & echo $! >> "$work/pids"
  wait_up "127.0.0.1:$port"
  echo "127.0.0.1:$port"
}
srcreg=$(start_registry src)
dstreg=$(start_registry dst)

mkfixture -registry "$srcreg" -runtime-mb 50                # 2 platforms x 50 MB
mkfixture -registry "$srcreg" -runtime-mb 20 -family 10      # 10 providers sharing 20 MB
mkfixture -registry "$srcreg" -runtime-mb 250 -repository upbound/provider-huge   # 500 MB

reset() { curl -fs "http://$1/__requests" >/dev/null; curl -fs "http://$1/__bytes" >/dev/null; }
requests() { curl -fs "http://$1/__requests"; }

copy_cmd() { # tool src dst
  case $1 in
    xpdoctor) echo kubectl-xpdoctor mirror "$2" "$3" --yes -q ;;
    crane) echo crane copy --insecure "$2" "$3" ;;
    regctl) echo env HOME="$work/home" regctl image copy "$2" "$3" ;;
    skopeo) echo skopeo copy --all --src-tls-verify=false --dest-tls-verify=false "docker://$2" "docker://$3" ;;
  esac
}
# skopeo remembers where blobs live in a local blob-info cache and reuses them
# across repositories; start each scenario without it, as on a fresh machine.
clear_caches() { rm -rf /var/lib/containers/cache "$HOME/.local/share/containers/cache"; }

# measure CMD...: prints "seconds maxrss_kb requests(src+dst) uploaded_bytes"
measure() {
  reset "$src"; reset "$dst"
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  local rs rd
  rs=$(requests "$src"); rd=$(requests "$dst")
  echo "$(cat "$work/time") $((rs + rd)) $(curl -fs "http://$dst/__bytes")"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

tools="xpdoctor crane regctl skopeo"
declare -A T M R B BIG
for lat in $latencies; do
  src=$(start_proxy "$srcreg" "$lat")
  dst=$(start_proxy "$dstreg" "$lat")
  regctl registry set --tls disabled "$src" >/dev/null
  regctl registry set --tls disabled "$dst" >/dev/null
  # Tools take turns within each run, so that load from elsewhere on the
  # machine falls on all of them alike.
  for r in $(seq "$runs"); do
    for tool in $tools; do
      clear_caches
      to="$dst/$tool-$lat-$r/upbound/provider-big:v1.6.0"
      read -r s m q b < <(measure $(copy_cmd $tool "$src/upbound/provider-big:v1.6.0" "$to"))
      k="$lat,$tool,first"; T[$k]+="$s "; M[$k]+="$m "; R[$k]+="$q "; B[$k]+="$b "
      read -r s m q b < <(measure $(copy_cmd $tool "$src/upbound/provider-big:v1.6.0" "$to"))
      k="$lat,$tool,repeat"; T[$k]+="$s "; M[$k]+="$m "; R[$k]+="$q "; B[$k]+="$b "
      clear_caches
      if [ "$tool" = xpdoctor ]; then
        : > "$work/family.txt"
        for i in $(printf "%02d " $(seq 0 9)); do echo "$src/upbound/provider-aws-svc$i:v1.6.0 $dst/fam-$tool-$lat-$r/upbound/provider-aws-svc$i:v1.6.0" >> "$work/family.txt"; done
        read -r s m q b < <(measure kubectl-xpdoctor mirror --from-file "$work/family.txt" --yes -q)
      else
        printf '#!/bin/sh\nset -e\n' > "$work/family.sh"
        for i in $(printf "%02d " $(seq 0 9)); do copy_cmd $tool "$src/upbound/provider-aws-svc$i:v1.6.0" "$dst/fam-$tool-$lat-$r/upbound/provider-aws-svc$i:v1.6.0" >> "$work/family.sh"; done
        read -r s m q b < <(measure sh "$work/family.sh")
      fi
      k="$lat,$tool,family"; T[$k]+="$s "; M[$k]+="$m "; R[$k]+="$q "; B[$k]+="$b "
    done
  done
  if [ "$lat" = 0 ]; then
    # Peak memory on a 500 MB package (2 x 250 MB layers), once per tool.
    for tool in $tools; do
      clear_caches
      read -r s m q b < <(measure $(copy_cmd $tool "$src/upbound/provider-huge:v1.6.0" "$dst/huge-$tool/upbound/provider-huge:v1.6.0"))
      BIG[$tool]="$s $m"
    done
  fi
done 2>&1

# Inspect: bytes fetched vs the minimum and vs crane export, on a package with
# a 100 MB runtime layer, downloads counted by a proxy in front of the source.
mkfixture -registry "$srcreg" -runtime-mb 100 -repository upbound/provider-inspect >/dev/null
sp=$(start_proxy "$srcreg" 0)
curl -fs "http://$sp/__down" >/dev/null
kubectl-xpdoctor inspect "$sp/upbound/provider-inspect:v1.6.0" -o json --exit-zero > "$work/inspect.json"
inspect_down=$(curl -fs "http://$sp/__down")
minimum=$(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["images"][0]
p=[x for x in r["platforms"] if x["selected"]][0]
base=sum(l["size"] for i,l in enumerate(p["layers"]) if i in p["baseLayers"])
print(p["manifestSize"]+p["configSize"]+base)' "$work/inspect.json")
crane export --insecure "$sp/upbound/provider-inspect:v1.6.0" - > /dev/null
crane_down=$(curl -fs "http://$sp/__down")

# The Go benchmarks beside the code: inspect bytes and scaling, diagnose end
# to end against envtest (built by make envtest) with API request counts.
gobench=$(go test ./pkg/xpkg -run '^$' -bench 'Inspect' -benchtime 5x 2>&1 | grep '^Benchmark'; \
  go test ./pkg/inspect -run '^$' -bench 'InspectPackages' -benchtime 3x 2>&1 | grep '^Benchmark'; \
  go test ./pkg/cluster -run '^$' -bench 'ReadDump' -benchtime 1x 2>&1 | grep '^Benchmark'; \
  envtest=${XPDOCTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xpdoctor}/envtest; \
  if [ -x "$envtest/kube-apiserver" ]; then KUBEBUILDER_ASSETS=$envtest go test ./pkg/cmd -run '^$' -bench 'Diagnose' -benchtime 3x 2>&1 | grep '^Benchmark'; fi)

med() { median <<<"$1"; }
# bench/latency.sh writes its own section of RESULTS.md: keep it.
kept=$(awk '/^<!-- bench\/latency.sh -->$/,/^<!-- \/bench\/latency.sh -->$/' bench/RESULTS.md 2>/dev/null || true)
{
  echo "# Mirror benchmark"
  echo
  echo "Generated by \`bench/run.sh $runs\` on $(date -u +%Y-%m-%d). Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), $(go version | awk '{print $3}'), docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null), crane $crane_version, regctl $regctl_version, skopeo $(skopeo --version | awk '{print $3}')."
  echo "Two docker-registry processes on loopback, each behind \`bench/countproxy\`, which adds the stated latency to every request and counts requests (source + destination) and uploaded bytes. Median of $runs runs; each run copies into fresh repositories. xpdoctor runs with its default verification (manifests read back by digest and compared, every blob's presence and size checked before the tag is set)."
  echo
  echo "| latency | scenario | tool | wall s (median) | requests | peak RSS MiB | uploaded MB | all runs (s) |"
  echo "|---|---|---|---|---|---|---|---|"
  for lat in $latencies; do
    for sc in first repeat family; do
      for tool in $tools; do
        k="$lat,$sc"; k="$lat,$tool,$sc"
        printf '| %s ms | %s | %s | %s | %s | %.0f | %.1f | %s |\n' "$lat" "$sc" "$tool" "$(med "${T[$k]}")" "$(med "${R[$k]}")" "$(echo "$(med "${M[$k]}")/1024" | bc -l)" "$(echo "$(med "${B[$k]}")/1000000" | bc -l)" "${T[$k]}"
      done
    done
  done
  echo
  echo "Peak RSS copying a 500 MB package (2 x 250 MB layers, 0 ms):"
  for tool in $tools; do
    read -r bs bm <<<"${BIG[$tool]}"
    echo "- $tool: $(echo "$bm/1024" | bc) MiB in ${bs} s"
  done
  echo
  echo "Inspect of a 2-platform package with a 100 MB runtime layer per platform (downloads counted by a proxy): xpdoctor fetched $inspect_down bytes; Crossplane's minimum for the selected image (manifest + config + base layer, without the index) is $minimum bytes; \`crane export\` (the flattened filesystem people use to look for package.yaml) fetched $crane_down bytes."
  echo
  echo "Go benchmarks (\`go test -bench\`; ns/op is wall time per run):"
  echo
  echo '```'
  echo "$gobench"
  echo '```'
  echo
  echo "Scenarios: **first** = a 2-platform package (2 x 50 MB runtime layers + small package layers) into a new repository; **repeat** = the same copy again (everything present); **family** = 10 providers sharing one 20 MB runtime layer into 10 new repositories of one registry (unique blob bytes: about 21 MB), xpdoctor with one \`--from-file\`, the others one process per package."
} > bench/RESULTS.md
if [ -n "$kept" ]; then printf '\n%s\n' "$kept" >> bench/RESULTS.md; fi
cat bench/RESULTS.md
