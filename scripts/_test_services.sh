# Sourced by test.sh: make sure the programs the integration tests start themselves are installed.
# The tests start and stop their own servers (a throw-away PostgreSQL cluster, ...) and browsers; this only
# installs missing Debian packages, when running as root on a Debian/Ubuntu machine. Elsewhere the
# tests that need a missing program skip with the reason.
_need_pkgs=()
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  _need_pkgs+=(postgresql)
fi
# Debian's Chromium for the workbench's browser test (driven by Playwright through executable_path;
# no browser is ever downloaded by pip or Playwright).
if [ ! -x /usr/bin/chromium ]; then
  _need_pkgs+=(chromium)
fi
if [ "${#_need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test services: ${_need_pkgs[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${_need_pkgs[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${_need_pkgs[@]}" >/dev/null; } \
      || echo "could not install ${_need_pkgs[*]}: the tests that need them will skip" >&2
  else
    echo "not installed: ${_need_pkgs[*]} (the tests that need them will skip)" >&2
  fi
fi
unset _need_pkgs
