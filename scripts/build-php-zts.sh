#!/usr/bin/env bash
# Builds a thread-safe (ZTS) PHP with the embed SAPI from the source of the Debian PHP that is
# installed, so phpasync can run `num N` PHP threads in one process. The result is installed
# under a cache directory keyed by PHP version and configure options; a second run is a no-op.
# The system's apt sources and package lists are never touched: the source package is fetched
# through a private apt configuration (own sources list, lists and archives directories).
#
# Usage: scripts/build-php-zts.sh [--print-prefix]
#   prints, as its last line, the php-config to use:  PHP_CONFIG=<prefix>/bin/php-config
# Environment:
#   PHPASYNC_CACHE   cache root (default ${XDG_CACHE_HOME:-~/.cache}/phpasync)
#   JOBS             make -j (default: number of CPUs)
#   NICE             nice level for configure/make (default 10)
#   DEBIAN_MIRROR    default http://deb.debian.org/debian (security: ...-security)
#   PHP_ZTS_NO_APT=1 never install -dev packages (fails at configure if one is missing)
set -euo pipefail

say() { printf '\033[1mbuild-php-zts:\033[0m [%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '\033[1;31mbuild-php-zts: %s\033[0m\n' "$*" >&2; exit 1; }

PRINT_PREFIX=0
[ "${1:-}" = "--print-prefix" ] && PRINT_PREFIX=1

# 1. Which PHP: the installed Debian one (source package name and version from dpkg).
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script needs a Debian-based system"
SRC_LINE=""
for p in php8.4-common php8.3-common php8.2-common php8.1-common; do
  if SRC_LINE=$(dpkg-query -W -f='${db:Status-Abbrev} ${source:Package} ${source:Version}\n' "$p" 2>/dev/null) \
     && [ "${SRC_LINE#ii }" != "$SRC_LINE" ]; then break; fi
  SRC_LINE=""
done
[ -n "$SRC_LINE" ] || die "no Debian PHP (php8.x-common) is installed: install php-dev first (apt-get install php-dev libphp-embed)"
read -r _ SRC_PKG SRC_VER <<<"$SRC_LINE"
UPSTREAM_VER=${SRC_VER#*:}; UPSTREAM_VER=${UPSTREAM_VER%%-*}   # 8.2.36-1~deb12u1 -> 8.2.36

# 2. Configure options (the cache key hashes them together with the version).
EXTS=(
  --enable-opcache
  --enable-mysqlnd --with-mysqli=mysqlnd --with-pdo-mysql=mysqlnd
  --with-pdo-sqlite --with-sqlite3
  --enable-mbstring --enable-ctype --enable-tokenizer --enable-filter
  --enable-sockets --enable-posix --enable-pcntl
  --with-sodium --with-openssl --with-curl --with-zlib
  --with-libxml --enable-xml --enable-dom --enable-simplexml --enable-xmlreader --enable-xmlwriter
  --enable-intl --enable-bcmath --enable-exif --enable-fileinfo --enable-session
)
CONF_OPTS=(--enable-zts --enable-embed=shared --disable-cgi --disable-phpdbg --without-pear "${EXTS[@]}")
# -dev packages those extensions compile against (Debian bookworm names).
DEV_PKGS=(libxml2-dev libssl-dev libsqlite3-dev libonig-dev libsodium-dev libcurl4-openssl-dev
          libicu-dev zlib1g-dev pkg-config g++ make dpkg-dev)
RECIPE=2   # bump when something outside CONF_OPTS changes the result
KEY=$(printf '%s\n' "$RECIPE" "$SRC_VER" "${CONF_OPTS[@]}" | sha256sum | cut -c1-10)

CACHE=${PHPASYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phpasync}
# The prefix is named after the version actually built (the archive may no longer serve the
# installed one); LINK maps the installed version + options to it so a cached run is offline.
LINK="$CACHE/php-zts-for-$UPSTREAM_VER-$KEY"
WORK="$CACHE/work/php-zts-$UPSTREAM_VER-$KEY"

done_line() {
  [ "$PRINT_PREFIX" = 1 ] && { echo "$PREFIX"; return; }
  echo "PHP_CONFIG=$PREFIX/bin/php-config"
}

# Debian's patches leave @DEBIAN_PHP_API@ (filled in by debian/rules) in php-config and phpize:
# with a plain `make install` the include dir would not exist. Our layout has no API subdir.
fix_debian_placeholders() {
  local f api
  api=$(sed -n 's/^#define PHP_API_VERSION \([0-9]*\).*/\1/p' "$1/include/php/main/php.h")
  for f in "$1/bin/php-config" "$1/bin/phpize"; do
    [ -f "$f" ] && grep -q '@DEBIAN_PHP_API@' "$f" || continue
    sed -i -e 's|/@DEBIAN_PHP_API@||g' -e "s|@DEBIAN_PHP_API@|$api|g" "$f"
  done
}

if [ -L "$LINK" ] && PREFIX=$(readlink -f "$LINK") && [ -f "$PREFIX/.complete" ] && [ -x "$PREFIX/bin/php-config" ]; then
  fix_debian_placeholders "$PREFIX"
  say "cached: ZTS PHP $(cat "$PREFIX/.version" 2>/dev/null) in $PREFIX"
  done_line; exit 0
fi
say "building a ZTS PHP from Debian's source of the installed $SRC_PKG $SRC_VER"
say "expect a few minutes to configure and 12-16 minutes to compile on 2 cores"
T0=$(date +%s)
mkdir -p "$WORK"

# 3. Build dependencies (only as root, only what is missing).
missing=()
for p in "${DEV_PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${PHP_ZTS_NO_APT:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing build dependencies: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt-install.log" 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt-install.log" 2>&1; } \
      || die "apt-get could not install ${missing[*]} (see $WORK/apt-install.log)"
  else
    die "missing build dependencies: ${missing[*]} (as root: apt-get install ${missing[*]})"
  fi
fi

# 4. Source: apt-get source through a private configuration.
SRC_DIR=$(ls -d "$WORK/src/$SRC_PKG"-*/ 2>/dev/null | head -1 || true); SRC_DIR=${SRC_DIR%/}
if [ -z "$SRC_DIR" ] || [ ! -f "$SRC_DIR/configure" ]; then
  APTD="$WORK/apt"
  mkdir -p "$APTD/lists/partial" "$APTD/archives/partial" "$APTD/sources.list.d" "$WORK/src"
  . /etc/os-release
  CODENAME=${VERSION_CODENAME:-bookworm}
  MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "deb-src [signed-by=$KEYRING] $MIRROR $CODENAME main"
    echo "deb-src [signed-by=$KEYRING] $MIRROR $CODENAME-updates main"
    echo "deb-src [signed-by=$KEYRING] ${MIRROR}-security $CODENAME-security main"
  } >"$APTD/sources.list"
  cat >"$APTD/apt.conf" <<EOF
Dir::Etc::SourceList "$APTD/sources.list";
Dir::Etc::SourceParts "$APTD/sources.list.d";
Dir::State::Lists "$APTD/lists";
Dir::Cache "$APTD";
Dir::Cache::archives "$APTD/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Sandbox::User "root";
EOF
  say "fetching the Debian source index (private apt lists in $APTD)"
  APT_CONFIG="$APTD/apt.conf" apt-get update -qq >"$WORK/apt-update.log" 2>&1 \
    || die "apt-get update (private lists) failed: see $WORK/apt-update.log"
  say "downloading source $SRC_PKG=$SRC_VER"
  cd "$WORK/src"
  # The installed version first; else the newest one the archive serves (a mirror may list a
  # security update whose source files it does not carry).
  GOT=""
  for v in "$SRC_VER" $(APT_CONFIG="$APTD/apt.conf" apt-cache showsrc "$SRC_PKG" 2>/dev/null \
                         | sed -n 's/^Version: //p' | sort -rV | grep -vxF "$SRC_VER"); do
    if APT_CONFIG="$APTD/apt.conf" apt-get source --download-only -qq "$SRC_PKG=$v" >>"$WORK/apt-source.log" 2>&1; then
      GOT=$v; break
    fi
    rm -f "$WORK/src"/*.tar.* "$WORK/src"/*.dsc
    say "the archive does not serve $SRC_PKG $v (see $WORK/apt-source.log)"
  done
  [ -n "$GOT" ] || die "no version of $SRC_PKG could be downloaded (see $WORK/apt-source.log)"
  [ "$GOT" = "$SRC_VER" ] || say "WARNING: building $SRC_PKG $GOT instead of the installed $SRC_VER (the archive does not serve it)"
  SRC_DIR="$WORK/src/$SRC_PKG-$(v=${GOT#*:}; echo "${v%%-*}")"
  DSC=$(ls "$WORK/src"/"${SRC_PKG}"_*.dsc | head -1)
  say "unpacking $(basename "$DSC") with Debian's patches"
  rm -rf "$SRC_DIR"
  dpkg-source --no-check -x "$DSC" "$SRC_DIR" >"$WORK/dpkg-source.log" 2>&1 \
    || die "dpkg-source failed: see $WORK/dpkg-source.log"
  rm -f "$WORK/src"/*.tar.* "$WORK/src"/*.dsc
fi

# 5. Configure, compile, install (into a staging root, moved into place when complete).
cd "$SRC_DIR"
BUILT_VER=$(sed -n 's/^PHP_VERSION=\([0-9.]*\).*/\1/p' configure.ac 2>/dev/null | head -1)
[ -n "$BUILT_VER" ] || BUILT_VER=$(sed -n 's/^AC_INIT(\[PHP\],\[\([0-9.]*\).*/\1/p' configure.ac | head -1)
[ -n "$BUILT_VER" ] || die "cannot read PHP's version from $SRC_DIR/configure.ac"
PREFIX="$CACHE/php-zts-$BUILT_VER-$KEY"
say "PHP $BUILT_VER -> $PREFIX"
NICE=${NICE:-10}
JOBS=${JOBS:-$(nproc)}
STAMP="$WORK/configured.$KEY"
if [ ! -f "$STAMP" ]; then
  say "configure (log: $WORK/configure.log)"
  nice -n "$NICE" ./configure --prefix="$PREFIX" \
      --with-config-file-path="$PREFIX/etc" --with-config-file-scan-dir="$PREFIX/etc/conf.d" \
      "${CONF_OPTS[@]}" >"$WORK/configure.log" 2>&1 \
    || { tail -20 "$WORK/configure.log" >&2; die "configure failed: see $WORK/configure.log"; }
  touch "$STAMP"
fi
say "compiling with make -j$JOBS under nice $NICE (log: $WORK/make.log)"
( while sleep 60; do
    n=$(find . -name '*.lo' 2>/dev/null | wc -l)
    say "  ... $n objects compiled ($(( ($(date +%s) - T0) / 60 )) min so far)"
  done ) &
TICKER=$!
trap 'kill $TICKER 2>/dev/null || true' EXIT
if ! nice -n "$NICE" make -j"$JOBS" >"$WORK/make.log" 2>&1; then
  tail -30 "$WORK/make.log" >&2; die "make failed: see $WORK/make.log"
fi
kill $TICKER 2>/dev/null || true
say "installing"
STAGE="$WORK/stage"
rm -rf "$STAGE"
make install INSTALL_ROOT="$STAGE" >"$WORK/install.log" 2>&1 \
  || { tail -20 "$WORK/install.log" >&2; die "make install failed: see $WORK/install.log"; }
fix_debian_placeholders "$STAGE$PREFIX"
mkdir -p "$STAGE$PREFIX/etc/conf.d"
cp php.ini-production "$STAGE$PREFIX/etc/php.ini"
# opcache is always a shared zend_extension; load it as Debian's php8.2-opcache does.
echo "zend_extension=opcache.so" >"$STAGE$PREFIX/etc/conf.d/10-opcache.ini"
rm -rf "$PREFIX"
mkdir -p "$(dirname "$PREFIX")"
mv "$STAGE$PREFIX" "$PREFIX"
rm -rf "$STAGE"
"$PREFIX/bin/php" -r 'exit(PHP_ZTS ? 0 : 1);' || die "the installed PHP is not thread-safe: $PREFIX"
echo "$BUILT_VER" >"$PREFIX/.version"
date -u +%FT%TZ >"$PREFIX/.complete"
ln -sfn "$PREFIX" "$LINK"
say "done in $(( ($(date +%s) - T0) / 60 )) min $(( ($(date +%s) - T0) % 60 )) s: $PREFIX"
say "modules: $("$PREFIX/bin/php" -m 2>/dev/null | grep -v '^\[' | grep . | tr '\n' ' ')"
done_line
