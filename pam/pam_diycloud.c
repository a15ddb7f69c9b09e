/* pam_diycloud.so: diycloud's login gate as a PAM module, run inside the PAM application (sshd, login, su, sudo,
 * cron). The decision is hook-core.c's, shared with the pam_exec program; a module saves the fork and exec of a
 * child per phase, which is most of what the gate used to add to a login (docs/benchmarks.md).
 *
 *   account   (pam_sm_acct_mgmt)      -> CheckLogin: PAM_PERM_DENIED for a disabled account
 *   session   (pam_sm_open_session)   -> OpenSession: PAM_SESSION_ERR when refused; the daemon places this process
 *                                        (the PAM application, which the session's processes descend from) in the
 *                                        user's cgroup before it answers
 *             (pam_sm_close_session)  -> CloseSession, waited for within the budget (a module must not fork)
 *   auth, password                    -> PAM_IGNORE: the gate has no say there
 *
 * Argument: conf=PATH (default /etc/diycloud/diycloud.conf). Log lines go through pam_syslog (the application's
 * ident, "pam_diycloud(service:type)"), lines for the user through the conversation (pam_info, pam_error).
 * Nothing here touches the application's environment, signals or global state. */
#define _GNU_SOURCE
#include "hook-core.h"

#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define EXPORT __attribute__((visibility("default")))

static void log_line(void *data, int prio, const char *line) { pam_syslog((pam_handle_t *)data, prio, "%s", line); }

static void show_line(void *data, int is_error, const char *line) {
  if (is_error) pam_error((pam_handle_t *)data, "%s", line);
  else pam_info((pam_handle_t *)data, "%s", line);
}

static const char *item(pam_handle_t *pamh, int type) {
  const void *v = NULL;
  return pam_get_item(pamh, type, &v) == PAM_SUCCESS ? (const char *)v : NULL;
}

static int gate(pam_handle_t *pamh, enum hook_phase phase, int argc, const char **argv, int refused) {
  const char *conf = NULL;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "conf=", 5) == 0 && argv[i][5] == '/') conf = argv[i] + 5;
    else pam_syslog(pamh, LOG_WARNING, "unknown argument ignored (only conf=/absolute/path is known)");
  }
  const struct hook_io io = {pamh, log_line, show_line};
  struct hook h;
  hook_init(&h, &io, phase, item(pamh, PAM_USER), item(pamh, PAM_SERVICE), item(pamh, PAM_TTY), item(pamh, PAM_RHOST), conf);
  h.in_process = 1;
  return hook_run(&h, &io) == HOOK_REFUSE ? refused : PAM_SUCCESS;
}

EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  return gate(pamh, HOOK_ACCOUNT, argc, argv, PAM_PERM_DENIED);
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  return gate(pamh, HOOK_OPEN, argc, argv, PAM_SESSION_ERR);
}

EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  gate(pamh, HOOK_CLOSE, argc, argv, PAM_SUCCESS); /* a logout is never refused */
  return PAM_SUCCESS;
}

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh, (void)flags, (void)argc, (void)argv;
  return PAM_IGNORE;
}

EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh, (void)flags, (void)argc, (void)argv;
  return PAM_IGNORE;
}

EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)pamh, (void)flags, (void)argc, (void)argv;
  return PAM_IGNORE;
}
