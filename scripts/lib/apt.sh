# Debian packages for scripts/setup.d/*.sh. Sourced, never run:
#
#     source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"
#     command -v chromium >/dev/null 2>&1 || apt_install chromium
#
# apt_install installs the named Debian packages whether CI is set or not, as root or
# through password-less sudo. `apt-get update` runs at most once per scripts/bootstrap
# run (its stamp lives in the folder bootstrap exports as HOSTSESSIONS_SETUP_RUN).
# Where it cannot install (no apt-get, not root and no password-less sudo, apt-get
# failing) it prints one line saying what to run and exits the calling script with
# status 1 at once, so scripts/test stops before any test runs instead of failing or
# skipping tests later for a missing tool.

_apt_step="$(basename "${0:-setup}")"
_apt_as_root=()
_apt_updated=""

apt_cannot_install() {  # apt_cannot_install WHY PACKAGE...
    local why="$1"
    shift
    echo "$_apt_step: cannot install $* ($why); run this as root, then run scripts/test again:" \
         "apt-get update && apt-get install -y --no-install-recommends $*" >&2
    exit 1
}

_apt_check_can_install() {  # _apt_check_can_install PACKAGE...
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$_apt_step: no apt-get on this machine; install what Debian calls $*" \
             "with this system's package manager, then run scripts/test again" >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            _apt_as_root=(sudo -n)
        else
            apt_cannot_install "not root, and no password-less sudo" "$@"
        fi
    fi
}

apt_as_root() {  # apt_as_root COMMAND...: runs a command as root (call after apt_update)
    "${_apt_as_root[@]}" "$@"
}

apt_update() {  # apt_update [PACKAGE...]: `apt-get update`, once per bootstrap run
    _apt_check_can_install "$@"
    local stamp="${HOSTSESSIONS_SETUP_RUN:-}/apt-updated"
    if [ -n "$_apt_updated" ] || { [ -n "${HOSTSESSIONS_SETUP_RUN:-}" ] && [ -f "$stamp" ]; }; then
        return 0
    fi
    echo "$_apt_step: apt-get update"
    apt_as_root apt-get update -qq || apt_cannot_install "apt-get update failed" "$@"
    _apt_updated=1
    if [ -n "${HOSTSESSIONS_SETUP_RUN:-}" ]; then
        touch "$stamp"
    fi
}

apt_install() {  # apt_install PACKAGE...
    [ "$#" -gt 0 ] || return 0
    apt_update "$@"
    echo "$_apt_step: installing Debian's $*"
    apt_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
        || apt_cannot_install "apt-get install failed" "$@"
}

apt_has_candidate() {  # apt_has_candidate PACKAGE: the apt lists offer it (after apt_update)
    apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'
}
