#!/usr/bin/env bash
# What the test suite needs beyond the build: Debian's Composer (php-cli), a real MariaDB server (the tests start their own,
# with a private datadir and socket; see test/helpers/mariadb.ts) and PHP's MySQL drivers
# (mysqlnd, pdo_mysql, mysqli) enabled for the embed SAPI that phpasync loads.
# Safe to re-run: does nothing when everything is there. As root it installs Debian's packages;
# otherwise it says what to install and returns 0 (the database tests then skip, saying why).
set -euo pipefail

say() { printf '\033[1minstall-test-deps:\033[0m %s\n' "$*"; }

# php-cli's test runs Debian's Composer through phpasync's PHP.
if ! command -v composer >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing composer (Debian)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends composer >/dev/null 2>&1 \
      || say "apt-get could not install composer; the php-cli Composer test will skip"
  else
    say "the php-cli Composer test needs Debian's composer: apt-get install --no-install-recommends composer"
  fi
fi

PHP_CONFIG_BIN=${PHP_CONFIG:-php-config}
PHP_VER=$("$PHP_CONFIG_BIN" --version 2>/dev/null | cut -d. -f1,2 || true)
[[ $PHP_VER =~ ^[0-9]+\.[0-9]+$ ]] || PHP_VER=8.2
PHP_EXT_DIR=$("$PHP_CONFIG_BIN" --extension-dir 2>/dev/null || true)

have_server() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]
}
have_install_db() {
  command -v mariadb-install-db >/dev/null 2>&1 || [ -x /usr/bin/mariadb-install-db ]
}
# The embed SAPI scans its own conf.d (Debian enables extensions per SAPI): the drivers count as
# present only when the shared objects exist and that SAPI's conf.d loads them.
have_php_mysql() {
  local conf=/etc/php/$PHP_VER/embed/conf.d
  [ -n "$PHP_EXT_DIR" ] && [ -e "$PHP_EXT_DIR/pdo_mysql.so" ] && [ -e "$PHP_EXT_DIR/mysqli.so" ] || return 1
  grep -qs '^extension=pdo_mysql' "$conf"/*.ini && grep -qs '^extension=mysqli' "$conf"/*.ini
}

PACKAGES=(mariadb-server mariadb-client "php$PHP_VER-mysql")

if have_server && have_install_db && have_php_mysql; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "the database tests need MariaDB and PHP's MySQL drivers; they will skip until then."
  say "install them as root: apt-get install --no-install-recommends ${PACKAGES[*]}"
  exit 0
fi

say "installing ${PACKAGES[*]} (Debian)"
export DEBIAN_FRONTEND=noninteractive
# mariadb-server's postinst would start the system service; the tests start their own server,
# so forbid service starts for this install only (the policy-rc.d hook Debian provides for it).
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod +x "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if [ "$OWN_POLICY" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

if ! apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1; then
  apt-get update -qq || say "apt-get update failed; trying the cached package lists"
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null \
    || { say "apt-get could not install ${PACKAGES[*]}"; exit 1; }
fi

# A package installed before libphp-embed was enabled only for the SAPIs present then.
if ! have_php_mysql && command -v phpenmod >/dev/null 2>&1; then
  phpenmod -v "$PHP_VER" -s embed mysqlnd pdo_mysql mysqli || true
fi
have_php_mysql || { say "pdo_mysql/mysqli are still not enabled for PHP $PHP_VER's embed SAPI (/etc/php/$PHP_VER/embed/conf.d)"; exit 1; }
have_server && have_install_db || { say "mariadbd or mariadb-install-db still missing after the install"; exit 1; }
say "MariaDB $(mariadbd --version 2>/dev/null | awk '{print $3}') and PHP $PHP_VER's MySQL drivers are installed"
