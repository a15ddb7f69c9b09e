#!/bin/sh
# Usage: for-nginx.sh NGINX_VERSION < diycloud-web.conf > out
# Writes the site for that nginx: from 1.25.1 on, `listen ... ssl http2;` becomes `listen ... ssl;` plus `http2 on;`
# (the old form only warns there, the new one is unknown to 1.22).
set -eu
v=${1:?nginx version}
old() { printf '%s\n1.25.1\n' "$1" | sort -V -C; }   # true when $1 < 1.25.1 (or equal: handled below)
if [ "$v" != "1.25.1" ] && old "$v"; then
    cat
else
    sed -e 's/^\(    listen 443 ssl\) http2;$/\1;\n    http2 on;/' -e 's/^\(    listen \[::\]:443 ssl\) http2;$/\1;/'
fi
