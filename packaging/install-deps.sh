#!/usr/bin/env bash
# Install what stethoscope needs to build, test and run its demo on Debian 12 / Ubuntu.
#
#   packaging/install-deps.sh               # build + test + demo dependencies
#   packaging/install-deps.sh --build-only  # only what a package build needs
#
# Idempotent and non-interactive. When everything is already installed it only
# queries dpkg (no apt-get update, no root needed). Installing needs root; when not
# root, sudo is used if present.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
    build-essential cmake pkg-config libpcap-dev
    libboost1.81-dev libboost-json1.81-dev libboost-log1.81-dev libboost-test1.81-dev
    libboost-filesystem1.81-dev libboost-program-options1.81-dev
)
DEV_PKGS=(
    ccache git clang libclang-rt-14-dev
    tcpdump tshark nginx-light curl netcat-openbsd tcpreplay wrk iproute2 nftables tcpflow
    ethtool python3 time util-linux prometheus
)

usage() {
    cat <<USAGE
usage: $0 [--build-only]

  (no option)    install build, test and demo dependencies
  --build-only   install only the build dependencies (compiler, cmake, pkg-config,
                 libpcap-dev, Boost 1.81)
USAGE
}

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

build_only=0
for arg in "$@"; do
    case "$arg" in
        --build-only) build_only=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    die "this script supports Debian/Ubuntu (dpkg + apt-get) only; install the equivalent of: ${BUILD_PKGS[*]} ${DEV_PKGS[*]}"
fi

wanted=("${BUILD_PKGS[@]}")
if ((build_only == 0)); then
    wanted+=("${DEV_PKGS[@]}")
fi

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${wanted[@]}"; do
    if ! is_installed "$pkg"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    log "all ${#wanted[@]} packages already installed, nothing to do"
    exit 0
fi
log "missing: ${missing[*]}"

# Root, or sudo, from here on.
SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 \
        || die "not root and sudo is not available; run as root: $0 $*"
    SUDO=(sudo)
    log "not root, using sudo"
fi
as_root() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"; }

APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)

log "apt-get update"
as_root apt-get -q -o DPkg::Lock::Timeout=300 update

# Outside Debian 12 the versioned names may not exist: fall back to the
# distribution's default versions (Ubuntu 24.04: Boost 1.83, clang 18, ...).
has_candidate() {
    local cand
    cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    [[ -n "$cand" && "$cand" != "(none)" ]]
}
to_install=()
for pkg in "${missing[@]}"; do
    if has_candidate "$pkg"; then
        to_install+=("$pkg")
        continue
    fi
    alt=""
    case "$pkg" in
        libboost1.81-dev) alt=libboost-dev ;;
        libboost-*1.81-dev) alt="${pkg%1.81-dev}-dev" ;;
        libclang-rt-14-dev) alt=libclang-rt-dev ;;
    esac
    if [[ -n "$alt" ]] && has_candidate "$alt"; then
        if ! is_installed "$alt"; then
            log "$pkg not available here, using $alt instead"
            to_install+=("$alt")
        else
            log "$pkg not available here, $alt already installed"
        fi
    elif [[ "$pkg" == libclang-rt-14-dev ]]; then
        # Older releases ship the sanitizer runtimes inside libclang-common-*-dev.
        log "warning: $pkg not available; the sanitizer runtime should come with clang"
    else
        die "package $pkg is not available from the configured apt sources"
    fi
done

if ((${#to_install[@]} == 0)); then
    log "nothing installable is missing"
    exit 0
fi

for pkg in "${to_install[@]}"; do
    if [[ "$pkg" == tshark ]]; then
        log "preseed wireshark-common/install-setuid=false"
        echo 'wireshark-common wireshark-common/install-setuid boolean false' \
            | as_root debconf-set-selections
    fi
done

# Do not let package scripts start services (nginx would try to take port 80);
# the tests start their own servers. Only when no policy is in place already.
policy=/usr/sbin/policy-rc.d
remove_policy=0
cleanup() {
    if ((remove_policy)); then
        as_root rm -f "$policy"
    fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
    log "temporarily disable service start-up ($policy)"
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    remove_policy=1
fi

log "apt-get install ${to_install[*]}"
as_root apt-get install "${APT_OPTS[@]}" "${to_install[@]}"
log "done"
