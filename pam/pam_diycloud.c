/* pam_diycloud.so: diycloud's login gate as a PAM module, run inside the PAM application (sshd, login, su, sudo,
 * cron). The decision is hook-core.c's, shared with the pam_exec program; a module saves the fork and exec of a
 * child per phase, which is most of what the gate used to add to a login (docs/benchmarks.md).
 *
 *   account   (pam_sm_acct_mgmt)      -> CheckLogin: PAM_PERM_DENIED for a disabled account
 *   session   (pam_sm_open_session)   -> OpenSession: PAM_SESSION_ERR when refused; the daemon places this process
 *                                        (the PAM application, which the session's processes descend from) in the
 *                                        user's cgroup before it answers
 *             (pam_sm_close_session)  -> only with the argument "close" (hosts without logind): CloseSession,
 *                                        waited for within the budget (a module must not fork)
 *   auth, password                    -> PAM_IGNORE: the gate has no say there
 *
 * Arguments: conf=PATH (default /etc/diycloud/diycloud.conf); close (report session ends). Log lines go through pam_syslog (the application's
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

struct args { const char *conf; int close; };

/* conf=/path: the config file; close: report session ends too (hosts without logind, docs/pam-hook.md). */
static struct args parse_args(pam_handle_t *pamh, int argc, const char **argv) {
  struct args a = {NULL, 0};
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "conf=", 5) == 0 && argv[i][5] == '/') a.conf = argv[i] + 5;
    else if (strcmp(argv[i], "close") == 0) a.close = 1;
    else pam_syslog(pamh, LOG_WARNING, "unknown argument ignored (known: conf=/absolute/path, close)");
  }
  return a;
}

static int gate(pam_handle_t *pamh, enum hook_phase phase, const struct args *a, int refused) {
  const struct hook_io io = {pamh, log_line, show_line};
  struct hook h;
  hook_init(&h, &io, phase, item(pamh, PAM_USER), item(pamh, PAM_SERVICE), item(pamh, PAM_TTY), item(pamh, PAM_RHOST), a->conf);
  h.in_process = 1;
  return hook_run(&h, &io) == HOOK_REFUSE ? refused : PAM_SUCCESS;
}

EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  struct args a = parse_args(pamh, argc, argv);
  return gate(pamh, HOOK_ACCOUNT, &a, PAM_PERM_DENIED);
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  struct args a = parse_args(pamh, argc, argv);
  return gate(pamh, HOOK_OPEN, &a, PAM_SESSION_ERR);
}

/* Only with "close": where logind runs, diycloudd learns session ends from it, and a CloseSession as
 * well would close a second record for one logout (docs/pam-hook.md, Session ends). */
EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
  (void)flags;
  struct args a = parse_args(pamh, argc, argv);
  if (a.close) gate(pamh, HOOK_CLOSE, &a, PAM_SUCCESS); /* a logout is never refused */
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
