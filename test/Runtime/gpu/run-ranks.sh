#!/usr/bin/env bash
# run-ranks.sh WORLD CASE BUNDLE: starts WORLD processes of
# fd-sharded-gputest (rank r on device r) for one --case, waits for all of
# them (two minutes at most: a hang is a failure, never a stuck test) and
# prints their outputs rank by rank. Exits non-zero if any rank failed or
# timed out. NVLink multicast stays off (NCCL_NVLS_ENABLE=0), as on every
# fd run.
set -u
world=$1 case=$2 bundle=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export NCCL_NVLS_ENABLE=0
pids=()
for ((r = 0; r < world; ++r)); do
  timeout 120 fd-sharded-gputest "$bundle" --rank "$r" --world "$world" \
    --id-file "$dir/id" --case "$case" > "$dir/rank$r.out" 2>&1 &
  pids+=($!)
done
rc=0
for ((r = 0; r < world; ++r)); do
  wait "${pids[$r]}"
  status=$?
  cat "$dir/rank$r.out"
  if [ "$status" -ne 0 ]; then
    echo "rank $r exited with $status"
    rc=1
  fi
done
exit $rc
