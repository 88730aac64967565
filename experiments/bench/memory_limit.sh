#!/usr/bin/env bash
# Run a command, and every process it starts (Ray's included), under a hard memory limit.
#
#   experiments/bench/memory_limit.sh 4G .venv/bin/fedrec bench --suite ml1m-4g
#
# RSS sums count shared libraries once per process and count file pages the kernel could drop;
# a memory cgroup settles the question: the kernel charges the run everything it holds (page
# cache included, reclaimed under pressure) and kills it if it cannot stay under the limit.
# Prints the limit, the cgroup's peak charge and OOM kills; exits with the command's status.
# Needs root and a cgroup v1 memory controller or cgroup v2 (Linux).
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 <limit, e.g. 4G> <command...>" >&2; exit 2; }
limit=$(numfmt --from=iec "$1"); shift
name="fedrec-limit-$$"
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then  # cgroup v2
  group=/sys/fs/cgroup/$name
  mkdir "$group"
  echo "$limit" >"$group/memory.max"
  echo 0 >"$group/memory.swap.max" 2>/dev/null || true
  peak_file=memory.peak
  oom() { awk '$1 == "oom_kill" {print $2}' "$group/memory.events"; }
else  # cgroup v1
  group=/sys/fs/cgroup/memory/$name
  mkdir "$group"
  echo "$limit" >"$group/memory.limit_in_bytes"
  echo "$limit" >"$group/memory.memsw.limit_in_bytes" 2>/dev/null || true  # no swap either
  peak_file=memory.max_usage_in_bytes
  oom() { awk '$1 == "oom_kill" {print $2}' "$group/memory.oom_control"; }
fi
cleanup() {
  # Processes left behind (a Ray daemon) move back to the root group so the group can go.
  while read -r pid; do echo "$pid" >"$(dirname "$group")/cgroup.procs" 2>/dev/null || true
  done <"$group/cgroup.procs"
  rmdir "$group" 2>/dev/null || true
}
trap cleanup EXIT
status=0
( echo "$BASHPID" >"$group/cgroup.procs"; exec "$@" ) || status=$?
echo "memory limit: $(numfmt --to=iec "$limit"); peak charged: $(numfmt --to=iec "$(cat "$group/$peak_file")"); OOM kills: $(oom)"
exit "$status"
