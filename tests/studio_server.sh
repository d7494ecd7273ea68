# Sourced by the studio's browser and load tests: a scratch folder removed on
# exit, and `atelier serve` started on a free port.
#   studio_scratch          sets $work (and kills the server on exit)
#   start_studio ATELIER [serve options...]
#                           sets $url (http://127.0.0.1:PORT/) and $port

studio_scratch() {
  # The server sees only the models given to it (scripts/test.sh points
  # ATELIER_MODELS at ../shared).
  unset ATELIER_MODELS
  work=$(mktemp -d)
  server_pid=
  trap 'if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2> /dev/null; fi; rm -rf "$work"' EXIT
}

start_studio() {
  local atelier=$1
  shift
  "$atelier" serve --port 0 --data-dir "$work/data" "$@" > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
  url=$(sed -n 's|.*listening on \(http://[^ ]*\) .*|\1|p' "$work/server.out")
  port=$(echo "$url" | sed -n 's|http://127.0.0.1:\([0-9]*\)/|\1|p')
  [ -n "$url" ] || { echo "not ok - the server did not start"; cat "$work/server.err"; exit 1; }
}
