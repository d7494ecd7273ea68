#!/usr/bin/env bash
# Bounded load test of `atelier serve` on loopback: 200 concurrent pollers
# (wrk, keep-alive connections on /api/v1/health) while 20 fast-style jobs
# queue and run. Passes when every job is done, none lost or failed, no 5xx
# was answered, and the server's peak memory stays under a bound. Prints the
# /health latency percentiles that the README reports.
#   studio_load_test.sh ATELIER MAKE_STUDIO_FIXTURES [SECONDS]
set -euo pipefail
atelier=$1 fixtures=$2 seconds=${3:-10}
jobs=20 pollers=200 memory_bound_mib=1536
for tool in wrk curl; do
  command -v $tool > /dev/null || { echo "SKIPPED: $tool is not installed (scripts/setup.sh installs it)"; exit 77; }
done

source "$(dirname "$0")/../studio_server.sh"
studio_scratch
"$fixtures" "$work"

start_studio "$atelier" --models-dir "$work/models" --queue 32 --workers 1 --quiet
api=http://127.0.0.1:$port/api/v1

ids=()
for i in $(seq $jobs); do
  answer=$(curl -sS -w ' %{http_code}' -F content=@"$work/photo.png" -F model=candy -F size=256 "$api/jobs")
  [ "${answer##* }" = 202 ] || { echo "not ok - job $i was refused: $answer"; exit 1; }
  ids+=("$(echo "$answer" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')")
done
echo "ok - $jobs jobs queued"

wrk -t2 -c$pollers -d${seconds}s --latency "$api/health" > "$work/wrk.txt"
cat "$work/wrk.txt"

# Every job completes (they ran during the load; allow a little more time).
for _ in $(seq 600); do
  done_count=0
  for id in "${ids[@]}"; do curl -sS "$api/jobs/$id" | grep -q '"status":"done"' && done_count=$((done_count + 1)); done
  [ $done_count = $jobs ] && break
  sleep 0.2
done
[ $done_count = $jobs ] || { echo "not ok - only $done_count of $jobs jobs are done"; exit 1; }
history=$(curl -sS "$api/jobs?limit=100" | grep -o '"status":"done"' | wc -l)
[ "$history" = $jobs ] || { echo "not ok - the history holds $history done jobs, not $jobs"; exit 1; }
echo "ok - all $jobs jobs done, none lost"

metrics=$(curl -sS "$api/metrics")
if echo "$metrics" | grep -q 'atelier_http_responses_total{code="5'; then
  echo "not ok - server errors under load:"; echo "$metrics" | grep 'code="5'; exit 1
fi
errors=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$work/wrk.txt")
[ -z "$errors" ] || { echo "not ok - $errors /health requests failed"; exit 1; }
if grep -q "Socket errors" "$work/wrk.txt"; then
  echo "not ok - connections failed under load: $(grep 'Socket errors' "$work/wrk.txt")"; exit 1
fi
peak_kib=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$server_pid/status)
peak_mib=$((peak_kib / 1024))
[ $peak_mib -lt $memory_bound_mib ] || { echo "not ok - peak memory $peak_mib MiB >= $memory_bound_mib MiB"; exit 1; }
p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
rate=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
echo "ok - /health under $pollers pollers and $jobs queued jobs: p50 $p50, p99 $p99, $rate requests/s; server peak memory $peak_mib MiB"

kill -TERM $server_pid
wait $server_pid && status=0 || status=$?
server_pid=
[ $status = 0 ] || { echo "not ok - the server exited with $status after SIGTERM"; exit 1; }
echo "ok - clean shutdown"
