/* diycloud PAM hook: run by pam_exec at account and session time; makes one bounded D-Bus call to diycloudd.
 *
 * PAM_TYPE account       -> CheckLogin(user, service, rhost): refuse disabled accounts
 *          open_session  -> OpenSession(user, service, tty, rhost): the slice gets its limits; the
 *                           reply's login line goes to stdout for interactive logins (shown_to_user)
 *          close_session -> CloseSession(...), in a background child: logout does not wait
 *
 * Exit status: 0 lets the login proceed, 1 refuses it. Details, and why this is C (one small process
 * per login), are in docs/pam-hook.md.
 *
 * Failure mode ([Hook] FailureMode): when the daemon is down, frozen or failing, "open" (default)
 * lets the login proceed with a warning; "closed" refuses the account phase and the session open.
 * Every call is bounded by [Hook] TimeoutSec (sd-bus reply timeout, then an interval timer). After
 * a timeout a marker in [Hook] RuntimeDirectory makes calls wait a tenth of the budget until one
 * succeeds (circuit breaker), so a frozen daemon costs one login the budget, not every call.
 *
 * Safety: this runs as root with an environment partly chosen by the user and PAM items chosen by
 * the remote peer. The items are copied and the environment cleared first; the bus address comes
 * only from the config; items are only ever D-Bus string arguments; odd ones are replaced. root and
 * accounts outside [Users] UIDMin..UIDMax (computed by the daemon's rules) get no D-Bus call.
 * Everything written to syslog or stdout goes through escape(), so no input can forge a log line.
 *
 * argv[1] (optional, from the PAM line only): the config file, default /etc/diycloud/diycloud.conf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

/* Error names (from the catalogue, docs/errors.md) that mean "not ours": proceed in any mode. */
static const char *const ALLOW_ERRORS[] = {"org.diycloud.Manager1.Error.NoSuchUser", NULL};

/* The daemon's root-only second name, on a connection of its own: no flood of other users' calls
 * to org.diycloud.Manager1 can queue ahead of a login's call there (docs/security.md). */
#define DEST "org.diycloud.Login1"
#define PATH "/org/diycloud/Manager1"
#define IFACE "org.diycloud.Manager1"

/* [Users] UIDMin or UIDMax from the config (a value the daemon refuses goes to cfg.range_problem). */
struct uid_key { int set; double v; };

static struct {
  int closed;
  char budget[32];
  struct uid_key uid_min, uid_max;
  char range_problem[256]; /* the first reason the daemon would refuse [Users] */
  char bus[512];
  char rundir[256];
} cfg = {0, "2", {0, 0}, {0, 0}, "", "unix:path=/run/dbus/system_bus_socket", "/run/diycloud"};

static char type[16], user[40], service[256], tty[256], rhost[256], marker[300];
static volatile sig_atomic_t gate_exit = 0; /* what the alarm handler exits with */

/* The one way text leaves the hook: printable ASCII stays, except a backslash, which is doubled;
 * every other byte becomes \xNN (a newline \x0a). The result has at most n-1 characters (n >= 4):
 * a longer text is cut between two escapes and ends in "...". */
static void escape(char *dst, size_t n, const char *src) {
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)src;
  for (; *p; p++) {
    char e[5];
    int len = *p == '\\' ? snprintf(e, sizeof e, "\\\\") : *p >= 0x20 && *p < 0x7f ? snprintf(e, sizeof e, "%c", *p) : snprintf(e, sizeof e, "\\x%02x", *p);
    if (o + len + 4 > n) break; /* keep room for "..." and the NUL */
    memcpy(dst + o, e, len);
    o += len;
  }
  if (*p) memcpy(dst + o, "...", 3), o += 3;
  dst[o] = '\0';
}

/* Every log line: formatted, then escaped as a whole, so no argument can be logged raw. */
static void say(int prio, const char *fmt, ...) {
  char raw[2048], out[1024]; /* raw > out: a message cut by vsnprintf is always cut (and marked) by escape() */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  escape(out, sizeof out, raw);
  openlog("diycloud-pam-hook", LOG_PID, LOG_AUTHPRIV);
  syslog(prio, "%s", out);
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

/* [Users] UIDMin/UIDMax by the daemon's rules (src/core/config.ts): only in [Users], at most once,
 * 1-10 digits, at most 4294967294. Anything else makes the daemon refuse the whole config. */
static void uid_key(struct uid_key *key, const char *name, const char *v, int in_users, const char *path) {
  size_t n = strlen(v);
  const char *why = !in_users ? "outside [Users]" : key->set ? "set twice" : NULL;
  if (in_users) key->set = 1;
  if (!why && (n < 1 || n > 10 || strspn(v, "0123456789") != n || strtod(v, NULL) > 4294967294.0)) why = "not a UID";
  if (!why) key->v = strtod(v, NULL);
  else if (!cfg.range_problem[0]) snprintf(cfg.range_problem, sizeof cfg.range_problem, "%s '%s' in %s: %s", name, v, path, why);
}

/* Our keys from the config ("Key=Value" or "Key = Value"; sections matter only for UIDMin/UIDMax). */
static void read_config(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f) return;
  char *line = NULL;
  size_t cap = 0;
  int in_users = 0;
  while (getline(&line, &cap, f) >= 0) {
    line[strcspn(line, "\n")] = '\0';
    if (trim(line)[0] == '[') in_users = strcmp(trim(line), "[Users]") == 0;
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#' || line[0] == ';') continue;
    *eq = '\0';
    char *k = trim(line), *v = trim(eq + 1);
    if (strcmp(k, "FailureMode") == 0) {
      if (strcmp(v, "open") && strcmp(v, "closed")) say(LOG_WARNING, "bad FailureMode '%s' in %s, using open", v, path);
      cfg.closed = strcmp(v, "closed") == 0;
    } else if (strcmp(k, "TimeoutSec") == 0) {
      copy(cfg.budget, sizeof cfg.budget, v);
    } else if (strcmp(k, "UIDMin") == 0 || strcmp(k, "UIDMax") == 0) {
      uid_key(strcmp(k, "UIDMin") == 0 ? &cfg.uid_min : &cfg.uid_max, k, v, in_users, path);
    } else if (strcmp(k, "BusAddress") == 0) {
      if (*v && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=:/._,-") == strlen(v)) copy(cfg.bus, sizeof cfg.bus, v);
      else say(LOG_WARNING, "bad BusAddress in %s, using the system bus", path);
    } else if (strcmp(k, "RuntimeDirectory") == 0 && v[0] == '/') {
      copy(cfg.rundir, sizeof cfg.rundir, v);
    }
  }
  free(line);
  fclose(f);
}

/* UID_MIN or UID_MAX from /etc/login.defs exactly as the daemon reads it (src/core/ini.ts
 * parseLoginDefs): the first match of /^\s*KEY\s+([0-9]+)\s*$/m in the whole text, else dflt. */
static double login_defs(const char *text, const char *key, double dflt) {
  char re_text[96];
  regex_t re;
  regmatch_t m[2];
  snprintf(re_text, sizeof re_text, "^[[:space:]]*%s[[:space:]]+([0-9]+)[[:space:]]*$", key);
  if (!text || regcomp(&re, re_text, REG_EXTENDED | REG_NEWLINE) != 0) return dflt;
  double v = regexec(&re, text, 2, m, 0) == 0 ? strtod(text + m[1].rm_so, NULL) : dflt;
  regfree(&re);
  return v;
}

/* /etc/login.defs (its first MiB; NULL if absent or unreadable, then the defaults apply). */
static char *read_login_defs(void) {
  FILE *f = fopen("/etc/login.defs", "re");
  if (!f) return NULL;
  char *text = malloc((1u << 20) + 1);
  size_t len = text ? fread(text, 1, 1u << 20, f) : 0;
  fclose(f);
  if (text) text[len] = '\0';
  return text;
}

/* The managed range as the daemon computes it (src/core/config.ts parseConfig). 0 when the daemon
 * would refuse it: then the hook cannot tell who is ours, skips no one by UID and lets the daemon
 * (or, when it cannot answer, the failure mode) decide. */
static int managed_range(double *min, double *max) {
  char *defs = cfg.uid_min.set && cfg.uid_max.set ? NULL : read_login_defs();
  *min = cfg.uid_min.set ? cfg.uid_min.v : login_defs(defs, "UID_MIN", 1000);
  *max = cfg.uid_max.set ? cfg.uid_max.v : login_defs(defs, "UID_MAX", 60000);
  free(defs);
  if (cfg.range_problem[0]) return 0;
  if (*min < 1 || *min > *max) {
    snprintf(cfg.range_problem, sizeof cfg.range_problem, "UIDMin (%.0f) must be at least 1 and not above UIDMax (%.0f)", *min, *max);
    return 0;
  }
  return 1;
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

/* Whether the login line is for a person at a terminal. Only sshd and login (su, sudo, cron and the
 * user manager stay quiet: scripts run "su - user -c cmd" on terminals too), and no ~/.hushlogin.
 * login(1) has its tty by now: a PAM_TTY of "" or "ssh" is no terminal. sshd opens the session
 * before the client asks for a pty or a command (PAM_TTY is "ssh" either way), so it decides
 * itself: it shows session messages only to a login with a pty and no command, and not with
 * ~/.hushlogin (OpenSSH's do_login and check_quietlogin). The hush file is only looked up
 * (fstatat without following a link), never opened or followed: it is the user's file. */
static int shown_to_user(const char *home) {
  int sshd = strcmp(service, "sshd") == 0;
  if (!sshd && strcmp(service, "login")) return 0;
  if (!sshd && (!tty[0] || strcmp(tty, "ssh") == 0 || strcmp(tty, "?") == 0)) return 0;
  char hush[4096];
  struct stat st;
  if (home[0] != '/' || snprintf(hush, sizeof hush, "%s/.hushlogin", home) >= (int)sizeof hush) return 1;
  return fstatat(AT_FDCWD, hush, &st, AT_SYMLINK_NOFOLLOW) != 0;
}

/* The daemon's login line, one escaped line per line of it (pam_exec's "stdout" option passes each
 * line to the application as a PAM text message). An older daemon's empty reply prints nothing. */
static void show_login_line(sd_bus_message *reply) {
  const char *msg = NULL;
  if (sd_bus_message_read(reply, "s", &msg) < 0 || !msg) return;
  for (int lines = 0; *msg && lines < 8; lines++) {
    char raw[512], shown[600];
    size_t len = strcspn(msg, "\n");
    snprintf(raw, sizeof raw, "%.*s", (int)(len < sizeof raw ? len : sizeof raw - 1), msg);
    escape(shown, sizeof shown, raw);
    if (shown[0]) printf("%s\n", shown);
    msg += len + (msg[len] == '\n');
  }
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

  /* Is this one of ours? Unknown to NSS or outside UIDMin..UIDMax: no D-Bus call at all. */
  double uid_min, uid_max;
  int range_ok = managed_range(&uid_min, &uid_max);
  if (!range_ok) say(LOG_WARNING, "bad [Users] range (%s; the daemon refuses this config): no user is skipped by UID", cfg.range_problem);
  struct passwd *pw = getpwnam(user);
  if (!pw || (range_ok && ((double)pw->pw_uid < uid_min || (double)pw->pw_uid > uid_max))) return 0;
  char home[4000];
  copy(home, sizeof home, pw->pw_dir ? pw->pw_dir : ""); /* getpwnam's buffer is not ours to keep */

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
      char shown[512];
      escape(shown, sizeof shown, reason);
      say(LOG_NOTICE, "login of %s via %s refused: %s", user, service, reason);
      printf("diycloud: %s\n", shown);
      return 1;
    }
  } else if (strcmp(member, "OpenSession") == 0 && shown_to_user(home)) {
    show_login_line(reply);
  }
  return 0;
}
