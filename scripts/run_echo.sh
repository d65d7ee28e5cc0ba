#!/usr/bin/env bash
# End to end: create a namespace with a TAP, run netsim's echo server on it, send a line from
# Linux with `nc`, show what came back, then tear everything down (also on Ctrl-C or error).
#
#   sudo scripts/run_echo.sh ["message"] [--ns NAME] [--port N]
# (netsim runs with $NETSIM_PYTHON if set, else the checkout's .venv, else python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
NS=netsim-echo-$$
TAP=tap0
PORT=8080
MESSAGE="hello from the Linux kernel's TCP"
while [[ $# -gt 0 ]]; do
    case $1 in
        --ns) NS=${2:?--ns needs a name}; shift 2 ;;
        --port) PORT=${2:?--port needs a number}; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
        *) MESSAGE=$1; shift ;;
    esac
done

PYTHON=python3
[[ -x .venv/bin/python ]] && PYTHON=$PWD/.venv/bin/python
[[ -n ${NETSIM_PYTHON:-} ]] && PYTHON=$NETSIM_PYTHON
command -v nc >/dev/null 2>&1 || { echo "run_echo: nc (netcat-openbsd) is not installed" >&2; exit 2; }

NETSIM_PID=
LOG=$(mktemp)
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $NETSIM_PID ]] && kill -0 "$NETSIM_PID" 2>/dev/null; then
        kill -INT "$NETSIM_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$NETSIM_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NETSIM_PID" 2>/dev/null || true
    fi
    scripts/netns_setup.sh down --ns "$NS" >/dev/null || true
    rm -f "$LOG"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/netns_setup.sh up --ns "$NS" --tap "$TAP"

ip netns exec "$NS" "$PYTHON" -m netsim live echo-server --tap "$TAP" --ip 10.0.0.2/24 \
    --port "$PORT" --count 1 >"$LOG" 2>&1 &
NETSIM_PID=$!
for _ in $(seq 100); do
    grep -q "listening" "$LOG" && break
    kill -0 "$NETSIM_PID" 2>/dev/null || { cat "$LOG" >&2; echo "run_echo: netsim exited" >&2; exit 1; }
    sleep 0.1
done
grep -q "listening" "$LOG" || { cat "$LOG" >&2; echo "run_echo: netsim did not start" >&2; exit 1; }
cat "$LOG"

echo "linux> $MESSAGE"
REPLY_TEXT=$(printf '%s\n' "$MESSAGE" | ip netns exec "$NS" nc -N -w 5 10.0.0.2 "$PORT")
echo "echo > $REPLY_TEXT"

# --count 1: netsim exits once the connection has closed on both sides (Ctrl-C after 5 s)
for _ in $(seq 50); do kill -0 "$NETSIM_PID" 2>/dev/null || break; sleep 0.1; done
kill -INT "$NETSIM_PID" 2>/dev/null || true
wait "$NETSIM_PID" || true
NETSIM_PID=
cat "$LOG" | tail -n 2
if [[ "$REPLY_TEXT" == "$MESSAGE" ]]; then
    echo "run_echo: OK, the echo matches"
else
    echo "run_echo: MISMATCH" >&2
    exit 1
fi
