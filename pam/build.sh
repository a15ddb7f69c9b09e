#!/bin/sh
# Builds the login gate (PAM module and pam_exec program, one shared core) and the password verifier into dist/.
# Needs a C compiler, libsystemd-dev and libpam0g-dev (scripts/install-deps.sh installs them).
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
CFLAGS="-O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong"
# The module is loaded into sshd, login, su, sudo and cron: position independent, only pam_sm_* exported,
# every symbol resolved at load (a missing one fails the build, not a login).
cc $CFLAGS -fPIC -fvisibility=hidden -shared -Wl,-z,relro,-z,now,-z,defs -o dist/pam_diycloud.so \
  pam/pam_diycloud.c pam/hook-core.c -lsystemd -lpam
cc $CFLAGS -fPIE -pie -Wl,-z,relro,-z,now -o dist/pam-hook pam/diycloud-pam-hook.c pam/hook-core.c -lsystemd
cc $CFLAGS -fPIE -pie -Wl,-z,relro,-z,now -o dist/pam-verify pam/diycloud-pam-verify.c -lpam
