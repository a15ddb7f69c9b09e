/* diycloud's login gate as a pam_exec program (/usr/libexec/diycloud/pam-hook), for PAM stacks that run it as a
 * child: PAM_TYPE, PAM_USER, PAM_SERVICE, PAM_TTY and PAM_RHOST come in the environment, argv[1] (optional, from
 * the PAM line only) names the config. The decision is hook-core.c's, shared with pam_diycloud.so, the shipped
 * way (one process less per login: docs/pam-hook.md).
 *
 * Exit status: 0 lets the login proceed, 1 refuses it. Lines for the user go to stdout (pam_exec's "stdout"
 * option passes each to the application as a PAM text message); log lines go to syslog as diycloud-pam-hook.
 *
 * This program runs as root with an environment partly chosen by the user: the items are copied and the
 * environment cleared before anything else. An interval timer backs up hook-core's deadline, should even an
 * NSS lookup hang: it leaves the circuit breaker's marker and exits by the failure mode. */
#define _GNU_SOURCE
#include "hook-core.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

static struct hook gate;                   /* global only for the alarm handler */
static volatile sig_atomic_t gate_exit = 0; /* what the alarm handler exits with */

static void log_line(void *data, int prio, const char *line) {
  (void)data;
  openlog("diycloud-pam-hook", LOG_PID, LOG_AUTHPRIV);
  syslog(prio, "%s", line);
}

static void show_line(void *data, int is_error, const char *line) {
  (void)data;
  (void)is_error;
  printf("%s\n", line);
}

static void on_alarm(int sig) {
  (void)sig;
  hook_mark_unresponsive(&gate);
  _exit(gate_exit);
}

static enum hook_phase phase_of(const char *t) {
  if (!t) return HOOK_OTHER;
  return strcmp(t, "account") == 0 ? HOOK_ACCOUNT : strcmp(t, "open_session") == 0 ? HOOK_OPEN
       : strcmp(t, "close_session") == 0 ? HOOK_CLOSE : HOOK_OTHER;
}

int main(int argc, char **argv) {
  const struct hook_io io = {NULL, log_line, show_line};
  const char *conf = argc > 1 ? argv[1] : NULL;
  /* Copy what we need from the environment (hook_init copies and checks), then drop all of it. */
  char *items[5];
  const char *names[5] = {"PAM_TYPE", "PAM_USER", "PAM_SERVICE", "PAM_TTY", "PAM_RHOST"};
  for (int i = 0; i < 5; i++) {
    const char *v = getenv(names[i]);
    items[i] = v ? strdup(v) : NULL;
  }
  clearenv();
  setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  hook_init(&gate, &io, phase_of(items[0]), items[1], items[2], items[3], items[4], conf);
  for (int i = 0; i < 5; i++) free(items[i]);
  if (gate.phase == HOOK_OTHER) return 0;

  if (gate.phase == HOOK_CLOSE) {
    /* Logout need not wait: the lookup and the call run in a detached child. The call still waits
     * for its reply, because the daemon identifies the caller from the live connection. */
    pid_t pid = fork();
    if (pid != 0) return 0;
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
  }

  gate_exit = gate.closed && hook_is_gate(&gate) ? 1 : 0;
  signal(SIGALRM, on_alarm);
  long ms = gate.reply_ms + 50;
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int v = hook_run(&gate, &io) == HOOK_REFUSE ? 1 : 0;
  fflush(stdout);
  return v;
}
