/* diycloud PAM hook: run by pam_exec at account and session time; makes one bounded D-Bus call to diycloudd.
 *
 * PAM_TYPE account       -> CheckLogin(user, service, rhost): refuse disabled accounts
 *          open_session  -> OpenSession(user, service, tty, rhost): the slice gets its limits
 *          close_session -> CloseSession(...), in a background child: logout does not wait
 *
 * Exit status: 0 lets the login proceed, 1 refuses it.
 *
 * Failure mode ([Hook] FailureMode in diycloud.conf): when the daemon is down, frozen, or answers
 * with an error, "open" (the default) lets the login proceed and logs a warning (syslog authpriv);
 * "closed" refuses the account phase and the session open. Every call is bounded by
 * [Hook] TimeoutSec (default 2 s): sd-bus gives up waiting for the reply, and an interval timer
 * ends the process should even connecting to the bus hang.
 *
 * Circuit breaker: one login makes several calls (account, session, the user manager's session).
 * When a call times out, the hook leaves a marker in [Hook] RuntimeDirectory; while it is there,
 * calls wait only a tenth of the budget (at most 200 ms). The first call that succeeds removes it.
 * So a frozen daemon costs one whole login at most the budget, not the budget per call.
 *
 * Safety: this runs as root, with an environment partly chosen by the user (pam_exec passes the
 * PAM environment) and items chosen by the remote peer (PAM_RHOST, PAM_TTY). So: the PAM items
 * are copied and the environment is cleared before anything else (NSS modules read variables
 * such as LDAPCONF); the bus address comes only from the config; PAM items are only ever D-Bus
 * string arguments, never code, paths or options; anything outside a conservative character set
 * is replaced. root and system accounts (UID below UIDMin) are skipped without any D-Bus call.
 *
 * Why C and not sh or Node: it runs on every login. Node costs about 90 ms to start; a shell
 * script around dbus-send needs sh, env, id, timeout and dbus-send (five processes, about 16 ms
 * per login measured); this is one small process (see docs/benchmarks.md).
 *
 * argv[1] (optional, from the PAM line only): the config file, default /etc/diycloud/diycloud.conf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

/* Error names (from the catalogue, docs/errors.md) that mean "not ours": proceed in any mode. */
static const char *const ALLOW_ERRORS[] = {"org.diycloud.Manager1.Error.NoSuchUser", NULL};

#define DEST "org.diycloud.Manager1"
#define PATH "/org/diycloud/Manager1"
#define IFACE "org.diycloud.Manager1"

static struct {
  int closed;
  char budget[32];
  long uid_min;
  char bus[512];
  char rundir[256];
} cfg = {0, "2", -1, "unix:path=/run/dbus/system_bus_socket", "/run/diycloud"};

static char type[16], user[40], service[256], tty[256], rhost[256], marker[300];
static volatile sig_atomic_t gate_exit = 0; /* what the alarm handler exits with */

static void say(int prio, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  openlog("diycloud-pam-hook", LOG_PID, LOG_AUTHPRIV);
  vsyslog(prio, fmt, ap);
  va_end(ap);
}

static int is_gate(void) { return strcmp(type, "account") == 0 || strcmp(type, "open_session") == 0; }

/* An unexpected failure: apply the failure mode. Only the gates can refuse. */
static void failure(const char *why) {
  if (cfg.closed && is_gate()) {
    say(LOG_ERR, "%s of user %s refused (failure mode closed): %s", type, user, why);
    exit(1);
  }
  say(LOG_WARNING, "%s of user %s allowed (failure mode open): %s", type, user, why);
  exit(0);
}

/* The hard stop, should even connecting hang: leave the marker, then exit by the failure mode. */
static void on_alarm(int sig) {
  (void)sig;
  int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0) close(fd);
  _exit(gate_exit);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = '\0';
  return s;
}

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src); }

/* Our keys from the config ("Key=Value" or "Key = Value"; sections do not matter for these). */
static void read_config(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#' || line[0] == ';') continue;
    *eq = '\0';
    char *k = trim(line), *v = trim(eq + 1);
    if (strcmp(k, "FailureMode") == 0) {
      if (strcmp(v, "open") && strcmp(v, "closed")) say(LOG_WARNING, "bad FailureMode '%s' in %s, using open", v, path);
      cfg.closed = strcmp(v, "closed") == 0;
    } else if (strcmp(k, "TimeoutSec") == 0) {
      copy(cfg.budget, sizeof cfg.budget, v);
    } else if (strcmp(k, "UIDMin") == 0) {
      cfg.uid_min = strspn(v, "0123456789") == strlen(v) && *v ? atol(v) : -1;
    } else if (strcmp(k, "BusAddress") == 0) {
      if (*v && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=:/._,-") == strlen(v)) copy(cfg.bus, sizeof cfg.bus, v);
      else say(LOG_WARNING, "bad BusAddress in %s, using the system bus", path);
    } else if (strcmp(k, "RuntimeDirectory") == 0 && v[0] == '/') {
      copy(cfg.rundir, sizeof cfg.rundir, v);
    }
  }
  fclose(f);
}

static long login_defs_uid_min(void) {
  FILE *f = fopen("/etc/login.defs", "re");
  long v = 1000;
  char line[512];
  if (!f) return v;
  while (fgets(line, sizeof line, f)) {
    char k[64];
    long n;
    if (sscanf(line, " %63s %ld", k, &n) == 2 && strcmp(k, "UID_MIN") == 0) v = n;
  }
  fclose(f);
  return v;
}

/* Budget "2" or "0.5" seconds -> ms; anything else is the default. */
static long budget_ms(void) {
  char *end;
  double s = strtod(cfg.budget, &end);
  if (end == cfg.budget || *end || !(s > 0 && s <= 30)) {
    say(LOG_WARNING, "bad TimeoutSec '%s', using 2", cfg.budget);
    s = 2;
  }
  long ms = (long)(s * 1000);
  return ms < 500 ? 500 : ms;
}

/* The same rule as the daemon: lowercase, digits, "_" and "-", not dash- or digit-leading, <= 32. */
static int valid_user(const char *u) {
  size_t n = strlen(u);
  if (n == 0 || n > 32 || !((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_')) return 0;
  return strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Free-form items: keep what is plainly safe, replace anything else whole. */
static void item(char *dst, size_t n, const char *src) {
  const char *ok = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:_%/@+=-";
  if (!src) src = "";
  if (strlen(src) > 255 || strspn(src, ok) != strlen(src)) src = "?";
  copy(dst, n, src);
}

static int allowed_error(const char *name) {
  for (int i = 0; name && ALLOW_ERRORS[i]; i++)
    if (strcmp(name, ALLOW_ERRORS[i]) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  const char *conf = argc > 1 ? argv[1] : "/etc/diycloud/diycloud.conf";
  /* Copy what we need from the environment, then drop all of it. */
  const char *t = getenv("PAM_TYPE"), *u = getenv("PAM_USER");
  copy(type, sizeof type, t ? t : "");
  int user_ok = u && strlen(u) < sizeof user;
  copy(user, sizeof user, user_ok ? u : "");
  item(service, sizeof service, getenv("PAM_SERVICE"));
  item(tty, sizeof tty, getenv("PAM_TTY"));
  item(rhost, sizeof rhost, getenv("PAM_RHOST"));
  clearenv();
  setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);

  read_config(conf);
  if (strcmp(type, "account") && strcmp(type, "open_session") && strcmp(type, "close_session")) return 0;
  if (!user_ok || !valid_user(user)) failure("invalid user name");
  if (strcmp(user, "root") == 0) return 0;

  long ms = budget_ms();
  long short_ms = ms / 10 < 200 ? ms / 10 : 200;
  long reply_ms = ms - short_ms - 150;
  snprintf(marker, sizeof marker, "%s/hook-unresponsive", cfg.rundir);
  if (access(marker, F_OK) == 0) reply_ms = short_ms;

  if (strcmp(type, "close_session") == 0) {
    /* Logout need not wait: the lookup and the call run in a detached child. The call still waits
     * for its reply, because the daemon identifies the caller from the live connection. */
    pid_t pid = fork();
    if (pid != 0) return 0;
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
  }

  /* Is this one of ours? Unknown to NSS or below UIDMin: no D-Bus call at all. */
  long uid_min = cfg.uid_min >= 0 ? cfg.uid_min : login_defs_uid_min();
  struct passwd *pw = getpwnam(user);
  if (!pw || (long)pw->pw_uid < uid_min) return 0;

  gate_exit = cfg.closed && is_gate() ? 1 : 0;
  signal(SIGALRM, on_alarm);
  struct itimerval it = {{0, 0}, {(reply_ms + 50) / 1000, ((reply_ms + 50) % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);

  sd_bus *bus = NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, cfg.bus);
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) failure("cannot connect to the bus");

  const char *member = strcmp(type, "account") == 0 ? "CheckLogin" : strcmp(type, "open_session") == 0 ? "OpenSession" : "CloseSession";
  r = sd_bus_message_new_method_call(bus, &m, DEST, PATH, IFACE, member);
  if (r >= 0) r = strcmp(member, "CheckLogin") == 0 ? sd_bus_message_append(m, "sss", user, service, rhost)
                                                    : sd_bus_message_append(m, "ssss", user, service, tty, rhost);
  if (r >= 0) r = sd_bus_call(bus, m, (uint64_t)reply_ms * 1000, &err, &reply);
  if (r < 0) {
    if (allowed_error(err.name)) return 0;
    if (r == -ETIMEDOUT || sd_bus_error_has_name(&err, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(&err, SD_BUS_ERROR_TIMEOUT)) {
      int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd >= 0) close(fd);
    }
    char why[512];
    snprintf(why, sizeof why, "diycloudd: %s", err.message ? err.message : strerror(-r));
    failure(why);
  }
  if (access(marker, F_OK) == 0) unlink(marker);

  if (strcmp(member, "CheckLogin") == 0) {
    int allowed = 0;
    const char *reason = NULL;
    if (sd_bus_message_read(reply, "bs", &allowed, &reason) < 0) failure("unexpected reply from diycloudd");
    if (!allowed) {
      say(LOG_NOTICE, "login of %s via %s refused: %s", user, service, reason);
      printf("diycloud: %s\n", reason);
      return 1;
    }
  }
  return 0;
}
