#!/usr/bin/env bash
# Create (or remove) a network namespace holding a TAP device for `netsim live`.
#
#   scripts/netns_setup.sh up   [--ns NAME] [--tap NAME] [--mtu N] [--kernel-ip ADDR/PREFIX]
#                               [--txqueuelen N]
#   scripts/netns_setup.sh down [--ns NAME]
#   scripts/netns_setup.sh status [--ns NAME]
#
# Layout (defaults): namespace "netsim" with a persistent TAP "tap0"; the kernel's side of the
# TAP is 10.0.0.1/24; netsim opens the TAP from inside the namespace and uses 10.0.0.2:
#
#   ip netns exec netsim .venv/bin/netsim live echo-server --tap tap0 --ip 10.0.0.2/24
#   ip netns exec netsim nc 10.0.0.2 8080
#
# The TAP's queue towards netsim holds --txqueuelen frames (default 4096; the kernel's default
# is 1000): frames that arrive faster than netsim reads them (a burst, a flood) wait there
# instead of being dropped before netsim sees them. Kernel memory: at most that many frames.
#
# Nothing outside the namespace is touched. `up` and `down` are idempotent; if `up` fails or is
# interrupted, whatever it created is removed again.
set -euo pipefail

NS=netsim
TAP=tap0
MTU=1500
QLEN=4096
KERNEL_IP=10.0.0.1/24

usage() {
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

die() {
    echo "netns_setup: $*" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
ACTION=$1
shift
while [[ $# -gt 0 ]]; do
    case $1 in
        --ns) NS=${2:?--ns needs a name}; shift 2 ;;
        --tap) TAP=${2:?--tap needs a name}; shift 2 ;;
        --mtu) MTU=${2:?--mtu needs a number}; shift 2 ;;
        --txqueuelen) QLEN=${2:?--txqueuelen needs a number}; shift 2 ;;
        --kernel-ip) KERNEL_IP=${2:?--kernel-ip needs ADDR/PREFIX}; shift 2 ;;
        -h|--help) usage ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ $NS =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "--ns: '$NS' is not a namespace name ([A-Za-z0-9_.-])"
[[ $TAP =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "--tap: '$TAP' is not an interface name (1..15 chars)"
[[ $MTU =~ ^[0-9]+$ ]] && (( MTU >= 68 && MTU <= 65521 )) || die "--mtu: '$MTU' is not in 68..65521"
[[ $QLEN =~ ^[0-9]+$ ]] && (( QLEN >= 1 && QLEN <= 1048576 )) \
    || die "--txqueuelen: '$QLEN' is not in 1..1048576"
[[ $KERNEL_IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] \
    || die "--kernel-ip: '$KERNEL_IP' is not ADDR/PREFIX such as 10.0.0.1/24"

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces and TAP devices)"
command -v ip >/dev/null 2>&1 || die "the 'ip' command (iproute2) is not installed"

ns_exists() {
    [[ -e /run/netns/$1 ]] || ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"
}

in_ns() {
    ip netns exec "$NS" "$@"
}

case $ACTION in
up)
    [[ -e /dev/net/tun ]] || die "/dev/net/tun is missing (no TUN/TAP support; try modprobe tun)"
    created_ns=0
    cleanup() {
        local status=$?
        trap - ERR INT TERM EXIT
        if [[ $status -ne 0 && $created_ns -eq 1 ]]; then
            echo "netns_setup: failed or interrupted; removing namespace $NS" >&2
            ip netns del "$NS" 2>/dev/null || true
        fi
        exit "$status"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    if ! ns_exists "$NS"; then
        ip netns add "$NS"
        created_ns=1
    fi
    in_ns ip link set lo up
    if ! in_ns ip link show dev "$TAP" >/dev/null 2>&1; then
        in_ns ip tuntap add dev "$TAP" mode tap
    elif ! in_ns ip -details link show dev "$TAP" | grep -q 'tun type tap'; then
        die "'$TAP' exists in namespace $NS but is not a TAP device"
    fi
    # No IPv6 on the TAP: keeps router solicitations and MLD reports out of the captures.
    in_ns sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null || true
    in_ns ip link set dev "$TAP" mtu "$MTU" txqueuelen "$QLEN"
    in_ns ip addr flush dev "$TAP"
    in_ns ip addr add "$KERNEL_IP" dev "$TAP"
    in_ns ip link set dev "$TAP" up
    echo "netns_setup: namespace $NS: $TAP $KERNEL_IP mtu $MTU (kernel side) is ready;"
    echo "  run netsim there:  ip netns exec $NS .venv/bin/netsim live echo-server --tap $TAP"
    ;;
down)
    if ns_exists "$NS"; then
        ip netns del "$NS"
        echo "netns_setup: removed namespace $NS"
    else
        echo "netns_setup: no namespace $NS (nothing to do)"
    fi
    ;;
status)
    ns_exists "$NS" || die "no namespace $NS"
    in_ns ip -brief addr show
    ;;
*)
    usage
    ;;
esac
