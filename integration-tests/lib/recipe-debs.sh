#!/usr/bin/env bash
# integration-tests/lib/recipe-debs.sh: the mail programs of the README's recipes that cannot be
# installed beside Postfix (Sendmail 8, Exim 4, nullmailer, ssmtp) and PHPMailer, as Debian
# packages unpacked into a cache, never installed. Scenario 27 runs them in a private mount
# namespace, with the unpacked tree laid over /usr, /etc and /var.
#
#   recipe-debs.sh fetch   downloads what is missing (apt-get download) and unpacks it
#   recipe-debs.sh check   exit 0 when every set is unpacked
#   recipe-debs.sh root S  prints the unpacked tree of set S
#
# Each set is the program's packages plus the libraries they need that are not installed
# here (followed through the libraries' own dependencies). Cache: $IT_DEB_CACHE, default
# /var/cache/returnpath-it (root) or target/recipe-debs. .ci/run fetches; it is idempotent:
# a .deb already in the cache is not fetched again, a set already unpacked is not unpacked again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

declare -A SETS=(
  [nullmailer]="nullmailer"
  [ssmtp]="ssmtp"
  [exim]="exim4-daemon-light exim4-base exim4-config"
  [sendmail]="sendmail-bin sendmail-base sendmail-cf m4"
  [phpmailer]="libphp-phpmailer"
)

if [ -z "${IT_DEB_CACHE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then IT_DEB_CACHE=/var/cache/returnpath-it
  else IT_DEB_CACHE=$(dirname "$(dirname "$here")")/target/recipe-debs; fi
fi
debs=$IT_DEB_CACHE/debs

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# lib_closure PKG...: the lib* packages that PKG... depend on, directly or through other lib*
# packages, and that are not installed (the first alternative of each dependency).
lib_closure() {
  local -A seen=()
  local queue=("$@") p d
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    for d in $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
                 --no-replaces --no-enhances "$p" 2>/dev/null \
               | sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<][^ ]*\)$/\2/p' | sed 's/:any$//'); do
      case $d in lib*) ;; *) continue ;; esac
      [ -n "${seen[$d]:-}" ] && continue
      seen[$d]=1
      installed "$d" && continue
      echo "$d"
      queue+=("$d")
    done
  done
}

have_deb() { compgen -G "$debs/${1}_*.deb" >/dev/null; }

fetch_set() {
  local set=$1 root=$IT_DEB_CACHE/root/$1 pkgs p
  [ -f "$root/.unpacked" ] && return 0
  # shellcheck disable=SC2086
  pkgs=(${SETS[$set]} $(lib_closure ${SETS[$set]}))
  mkdir -p "$debs"
  chown _apt "$debs" 2>/dev/null || true   # apt-get download's sandbox user writes there
  for p in "${pkgs[@]}"; do
    have_deb "$p" && continue
    # apt-get download writes into the working directory
    (cd "$debs" && apt-get -q download "$p") || { echo "recipe-debs: cannot download $p (apt-get update first?)" >&2; return 1; }
  done
  rm -rf "$root.tmp" && mkdir -p "$root.tmp"
  for p in "${pkgs[@]}"; do
    dpkg-deb -x "$(compgen -G "$debs/${p}_*.deb" | sort | tail -n 1)" "$root.tmp"
  done
  printf '%s\n' "${pkgs[@]}" > "$root.tmp/.unpacked"
  rm -rf "$root" && mv "$root.tmp" "$root"
  echo "recipe-debs: $set unpacked in $root (${pkgs[*]})"
}

case "${1:-}" in
  fetch)
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { echo "recipe-debs: needs apt-get and dpkg-deb" >&2; exit 1; }
    for s in "${!SETS[@]}"; do fetch_set "$s"; done ;;
  check)
    for s in "${!SETS[@]}"; do [ -f "$IT_DEB_CACHE/root/$s/.unpacked" ] || { echo "$s is not unpacked in $IT_DEB_CACHE/root (run $0 fetch)"; exit 1; }; done ;;
  root)
    echo "$IT_DEB_CACHE/root/$2" ;;
  *) echo "usage: $0 fetch | check | root SET" >&2; exit 2 ;;
esac
