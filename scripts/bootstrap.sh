#!/usr/bin/env bash
# Create (or reuse) the virtualenv .venv at the repository root and install netsim into it,
# editable, with the extras [dev,notebooks]. The install compiles netsim's hot path with mypyc
# when a C compiler and the Python headers are present (setup.py), and says so when not. Safe
# to run any number of times: when .venv already holds an install made from the current
# pyproject.toml, with the same build choice, whose compiled modules (if any) are newer than
# their sources, it returns at once; otherwise it reinstalls (recompiling).
#
#   ./scripts/bootstrap.sh               # uses python3 from PATH (or python3.13/3.12/3.11)
#   PYTHON=/path/to/python3 ./scripts/bootstrap.sh
#   NETSIM_BOOTSTRAP_FORCE=1 ./scripts/bootstrap.sh   # reinstall even if up to date
#   NETSIM_BUILD=interpreted ./scripts/bootstrap.sh   # pure Python: no compiler needed
#   NETSIM_BUILD=compiled ./scripts/bootstrap.sh      # compiled, or fail saying why
set -euo pipefail

REQUIRED_MAJOR=3
REQUIRED_MINOR=11
EXTRAS="dev,notebooks"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.netsim-bootstrap"

die() {
    echo "bootstrap: error: $*" >&2
    exit 1
}

# Prints "MAJOR.MINOR.MICRO" for the interpreter $1, or nothing if it does not run.
py_version() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}

# True if the interpreter $1 runs and is at least REQUIRED_MAJOR.REQUIRED_MINOR.
py_ok() {
    "$1" -c "import sys; sys.exit(0 if sys.version_info >= ($REQUIRED_MAJOR, $REQUIRED_MINOR) else 1)" \
        >/dev/null 2>&1
}

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        # An explicit choice is honoured or refused, never silently replaced.
        command -v "$PYTHON" >/dev/null 2>&1 || die "PYTHON=$PYTHON: no such command"
        local v
        v="$(py_version "$PYTHON")"
        py_ok "$PYTHON" || die "PYTHON=$PYTHON is Python ${v:-(does not run)};" \
            "netsim needs Python >= $REQUIRED_MAJOR.$REQUIRED_MINOR"
        echo "$PYTHON"
        return
    fi
    local candidate seen=""
    for candidate in python3 python3.13 python3.12 python3.11; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if py_ok "$candidate"; then
            echo "$candidate"
            return
        fi
        seen+=" $candidate=$(py_version "$candidate")"
    done
    die "netsim needs Python >= $REQUIRED_MAJOR.$REQUIRED_MINOR; found${seen:- no python3 on PATH}." \
        "Install one, or point PYTHON=/path/to/python3.11 at it."
}

# A stamp of what was installed: pyproject.toml, setup.py, the venv's interpreter version, the
# extras and the build asked for.
stamp_now() {
    {
        "$VENV/bin/python" -c \
            'import hashlib, sys; print(*(hashlib.sha256(open(f, "rb").read()).hexdigest() for f in sys.argv[1:]))' \
            "$ROOT/pyproject.toml" "$ROOT/setup.py"
        py_version "$VENV/bin/python"
        echo "$EXTRAS"
        echo "build=${NETSIM_BUILD:-auto}"
    } 2>/dev/null
}

# Prints the compiled modules that no longer match the checkout (edited since they were
# compiled, or no longer in the list) and succeeds; fails if there are none.
stale_compiled() {
    "$VENV/bin/python" -W ignore::RuntimeWarning -c \
        'import sys; from netsim._build import stale_modules; s = stale_modules(); print(", ".join(s)); sys.exit(0 if s else 1)' \
        2>/dev/null
}

case "${NETSIM_BUILD:-}" in
    "" | auto | compiled | interpreted) ;;
    *) die "NETSIM_BUILD=$NETSIM_BUILD: expected auto (the default), compiled or interpreted" ;;
esac

cd "$ROOT"

# Reuse .venv if its interpreter runs and is recent enough; otherwise (re)create it.
if [[ -x "$VENV/bin/python" ]] && py_ok "$VENV/bin/python"; then
    :
else
    if [[ -e "$VENV" ]]; then
        echo "bootstrap: $VENV is unusable (broken or Python < $REQUIRED_MAJOR.$REQUIRED_MINOR); recreating it"
        rm -rf "$VENV"
    fi
    PY="$(find_python)"
    echo "bootstrap: creating $VENV with $PY ($(py_version "$PY"))"
    "$PY" -m venv "$VENV" || die "'$PY -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi

if [[ -z "${NETSIM_BOOTSTRAP_FORCE:-}" && -f "$STAMP" && -x "$VENV/bin/netsim" ]] \
    && [[ "$(cat "$STAMP")" == "$(stamp_now)" ]]; then
    stale="$(stale_compiled)" || exit 0  # up to date
    echo "bootstrap: the compiled code of $stale is out of date: reinstalling"
fi

echo "bootstrap: installing netsim (editable) with extras [$EXTRAS] into $VENV"
if [[ "${NETSIM_BUILD:-auto}" != interpreted ]]; then
    echo "bootstrap: compiling its hot path with mypyc takes a minute or two" \
        "(NETSIM_BUILD=interpreted skips it)"
fi
rm -f "$STAMP"
# -q keeps pip to warnings and errors. setuptools' notice that an install is editable is not one.
PYTHONWARNINGS="ignore:Editable installation:UserWarning${PYTHONWARNINGS:+,$PYTHONWARNINGS}" \
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$EXTRAS]" \
    || die "pip install failed (see the messages above)"
"$VENV/bin/python" -c 'import netsim' || die "netsim does not import after installing"
stamp_now >"$STAMP"
version="$("$VENV/bin/python" -m netsim --version)" || die "netsim --version failed after installing"
echo "bootstrap: done ($("$VENV/bin/python" -V), $version)"
if [[ "$version" == *"pure Python"* && "${NETSIM_BUILD:-auto}" != interpreted ]]; then
    why="$("$VENV/bin/python" -c 'from netsim._build import why_not_compilable as w; print(w() or "")')"
    echo "bootstrap: netsim runs interpreted, about half as fast: ${why:-the compiled build was not made}." \
        "With a C compiler and the Python headers (Debian/Ubuntu: apt-get install gcc python3-dev)," \
        "NETSIM_BOOTSTRAP_FORCE=1 ./scripts/bootstrap.sh compiles it."
fi
