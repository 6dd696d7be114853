#!/usr/bin/env bash
# Debian packages the tests need (browser tests, CJK fonts for pages and rich-menu images, the IMAP server of the
# police-notice tests, openssl for the certificate of the reports digest's TLS relay tests). As root: installs what is missing. Otherwise: names what is missing and fails, so that no
# test is skipped silently for want of a package.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for pkg in fonts-noto-cjk fonts-noto-color-emoji dovecot-imapd; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "make test needs these Debian packages: ${need[*]} — install them (sudo apt-get install ${need[*]}) and rerun." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
