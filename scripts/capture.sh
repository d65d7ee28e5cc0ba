#!/usr/bin/env bash
# Capture the frames on a namespace's TAP device into a pcap file with tcpdump.
#
#   scripts/capture.sh [--ns NAME] [--tap NAME] [-w FILE] [-c COUNT] [FILTER...]
#
# Defaults: namespace "netsim", TAP "tap0", file "netsim-<tap>.pcap" in the current directory.
# Runs until Ctrl-C (or COUNT frames); frames are written as they come (--immediate-mode -U), so it
# is complete whenever capture stops. Read it with `netsim pcap FILE` or `tshark -r FILE`.
set -euo pipefail

NS=netsim
TAP=tap0
FILE=
COUNT=()

die() {
    echo "capture: $*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --ns) NS=${2:?--ns needs a name}; shift 2 ;;
        --tap) TAP=${2:?--tap needs a name}; shift 2 ;;
        -w) FILE=${2:?-w needs a file}; shift 2 ;;
        -c) COUNT=(-c "${2:?-c needs a number}"); shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
        --) shift; break ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
FILE=${FILE:-netsim-$TAP.pcap}

[[ $(id -u) -eq 0 ]] || die "needs root"
command -v tcpdump >/dev/null 2>&1 || die "tcpdump is not installed"
[[ -e /run/netns/$NS ]] || die "no namespace $NS (create it with scripts/netns_setup.sh up)"
ip netns exec "$NS" ip link show dev "$TAP" >/dev/null 2>&1 || die "no interface $TAP in $NS"

echo "capture: $NS/$TAP -> $FILE (Ctrl-C to stop)" >&2
# exec: tcpdump gets Ctrl-C/SIGTERM itself and closes the file properly.
exec ip netns exec "$NS" tcpdump -i "$TAP" --immediate-mode -U -s 0 -n "${COUNT[@]}" -w "$FILE" "$@"
