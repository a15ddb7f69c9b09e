/* diycloud's login gate: the part shared by pam_diycloud.so and the pam_exec program (see hook-core.h).
 *
 * PHASE account       -> CheckLogin(user, service, rhost): refuse disabled accounts
 *       open_session  -> OpenSession(user, service, tty, rhost): the user's cgroup gets its limits (and the calling
 *                        login process is placed in it); the reply's login line is shown to interactive logins
 *       close_session -> CloseSession(user, service, tty, rhost)
 *
 * Failure mode ([Hook] FailureMode): when the daemon is down, frozen or failing, "open" (default) lets the login
 * proceed with a warning; "closed" refuses the account phase and the session open. The whole call (connect,
 * authenticate, call, reply) is bounded by [Hook] TimeoutSec on a deadline of our own: sd-bus bounds only the
 * reply, not the connection's start. After a timeout a marker in [Hook] RuntimeDirectory makes calls wait a tenth
 * of the budget until one succeeds (circuit breaker), so a frozen daemon costs one login the budget, not every call.
 *
 * Safety: PAM items are chosen by the remote peer. They are copied and checked first; the bus address comes only
 * from the config; items are only ever D-Bus string arguments; odd ones are replaced. root and accounts outside
 * [Users] UIDMin..UIDMax (computed by the daemon's rules) get no D-Bus call. Every text that leaves (log lines,
 * lines shown to the user) goes through hook_escape(), so no input can forge a log line or a terminal sequence. */
#define _GNU_SOURCE
#include "hook-core.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

/* Error names (from the catalogue, docs/errors.md) that mean "not ours": proceed in any mode. */
static const char *const ALLOW_ERRORS[] = {"org.diycloud.Manager1.Error.NoSuchUser", NULL};

/* The daemon's root-only second name, on a connection of its own: no flood of other users' calls
 * to org.diycloud.Manager1 can queue ahead of a login's call there (docs/security.md). */
#define DEST "org.diycloud.Login1"
#define PATH "/org/diycloud/Manager1"
#define IFACE "org.diycloud.Manager1"

static const char *phase_name(enum hook_phase p) {
  return p == HOOK_ACCOUNT ? "account" : p == HOOK_OPEN ? "open_session" : p == HOOK_CLOSE ? "close_session" : "other";
}

void hook_escape(char *dst, unsigned long n, const char *src) {
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
__attribute__((format(printf, 3, 4))) static void say(const struct hook_io *io, int prio, const char *fmt, ...) {
  char raw[2048], out[1024]; /* raw > out: a message cut by vsnprintf is always cut (and marked) by escape() */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  hook_escape(out, sizeof out, raw);
  io->log(io->data, prio, out);
}

static void show(const struct hook_io *io, int is_error, const char *raw) {
  char shown[600];
  hook_escape(shown, sizeof shown, raw);
  if (shown[0]) io->show(io->data, is_error, shown);
}

int hook_is_gate(const struct hook *h) { return h->phase == HOOK_ACCOUNT || h->phase == HOOK_OPEN; }

/* An unexpected failure: apply the failure mode. Only the gates can refuse. */
static enum hook_verdict failure(const struct hook *h, const struct hook_io *io, const char *why) {
  if (h->closed && hook_is_gate(h)) {
    say(io, LOG_ERR, "%s of user %s refused (failure mode closed): %s", phase_name(h->phase), h->user, why);
    return HOOK_REFUSE;
  }
  say(io, LOG_WARNING, "%s of user %s allowed (failure mode open): %s", phase_name(h->phase), h->user, why);
  return HOOK_ALLOW;
}

void hook_mark_unresponsive(const struct hook *h) {
  int fd = open(h->marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0) close(fd);
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
static void uid_key(struct hook *h, struct hook_uid_key *key, const char *name, const char *v, int in_users, const char *path) {
  size_t n = strlen(v);
  const char *why = !in_users ? "outside [Users]" : key->set ? "set twice" : NULL;
  if (in_users) key->set = 1;
  if (!why && (n < 1 || n > 10 || strspn(v, "0123456789") != n || strtod(v, NULL) > 4294967294.0)) why = "not a UID";
  if (!why) key->v = strtod(v, NULL);
  else if (!h->range_problem[0]) snprintf(h->range_problem, sizeof h->range_problem, "%s '%s' in %s: %s", name, v, path, why);
}

/* Our keys from the config ("Key=Value" or "Key = Value"; sections matter only for UIDMin/UIDMax). */
static void read_config(struct hook *h, const struct hook_io *io, const char *path) {
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
      if (strcmp(v, "open") && strcmp(v, "closed")) say(io, LOG_WARNING, "bad FailureMode '%s' in %s, using open", v, path);
      h->closed = strcmp(v, "closed") == 0;
    } else if (strcmp(k, "TimeoutSec") == 0) {
      copy(h->budget, sizeof h->budget, v);
    } else if (strcmp(k, "UIDMin") == 0 || strcmp(k, "UIDMax") == 0) {
      uid_key(h, strcmp(k, "UIDMin") == 0 ? &h->uid_min : &h->uid_max, k, v, in_users, path);
    } else if (strcmp(k, "BusAddress") == 0) {
      if (*v && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=:/._,-") == strlen(v)) copy(h->bus, sizeof h->bus, v);
      else say(io, LOG_WARNING, "bad BusAddress in %s, using the system bus", path);
    } else if (strcmp(k, "RuntimeDirectory") == 0 && v[0] == '/') {
      copy(h->rundir, sizeof h->rundir, v);
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
 * would refuse it: then the gate cannot tell who is ours, skips no one by UID and lets the daemon
 * (or, when it cannot answer, the failure mode) decide. */
static int managed_range(struct hook *h, double *min, double *max) {
  char *defs = h->uid_min.set && h->uid_max.set ? NULL : read_login_defs();
  *min = h->uid_min.set ? h->uid_min.v : login_defs(defs, "UID_MIN", 1000);
  *max = h->uid_max.set ? h->uid_max.v : login_defs(defs, "UID_MAX", 60000);
  free(defs);
  if (h->range_problem[0]) return 0;
  if (*min < 1 || *min > *max) {
    snprintf(h->range_problem, sizeof h->range_problem, "UIDMin (%.0f) must be at least 1 and not above UIDMax (%.0f)", *min, *max);
    return 0;
  }
  return 1;
}

/* Budget "2" or "0.5" seconds -> ms; anything else is the default. */
static long budget_ms(const struct hook *h, const struct hook_io *io) {
  char *end;
  double s = strtod(h->budget, &end);
  if (end == h->budget || *end || !(s > 0 && s <= 30)) {
    say(io, LOG_WARNING, "bad TimeoutSec '%s', using 2", h->budget);
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

void hook_init(struct hook *h, const struct hook_io *io, enum hook_phase phase, const char *user, const char *service,
               const char *tty, const char *rhost, const char *conf_path) {
  memset(h, 0, sizeof *h);
  h->phase = phase;
  copy(h->budget, sizeof h->budget, "2");
  copy(h->bus, sizeof h->bus, "unix:path=/run/dbus/system_bus_socket");
  copy(h->rundir, sizeof h->rundir, "/run/diycloud");
  h->user_ok = user && strlen(user) < sizeof h->user;
  copy(h->user, sizeof h->user, h->user_ok ? user : "");
  item(h->service, sizeof h->service, service);
  item(h->tty, sizeof h->tty, tty);
  item(h->rhost, sizeof h->rhost, rhost);
  read_config(h, io, conf_path ? conf_path : "/etc/diycloud/diycloud.conf");
  snprintf(h->marker, sizeof h->marker, "%s/hook-unresponsive", h->rundir);
  if (phase == HOOK_OTHER) return;
  long ms = budget_ms(h, io);
  long short_ms = ms / 10 < 200 ? ms / 10 : 200;
  h->reply_ms = access(h->marker, F_OK) == 0 ? short_ms : ms - short_ms - 150;
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
static int shown_to_user(const struct hook *h, const char *home) {
  int sshd = strcmp(h->service, "sshd") == 0;
  if (!sshd && strcmp(h->service, "login")) return 0;
  if (!sshd && (!h->tty[0] || strcmp(h->tty, "ssh") == 0 || strcmp(h->tty, "?") == 0)) return 0;
  char hush[4096];
  struct stat st;
  if (home[0] != '/' || snprintf(hush, sizeof hush, "%s/.hushlogin", home) >= (int)sizeof hush) return 1;
  return fstatat(AT_FDCWD, hush, &st, AT_SYMLINK_NOFOLLOW) != 0;
}

/* The daemon's login line, one escaped line per line of it (each a PAM text message). An older
 * daemon's empty reply shows nothing. */
static void show_login_line(const struct hook_io *io, sd_bus_message *reply) {
  const char *msg = NULL;
  if (sd_bus_message_read(reply, "s", &msg) < 0 || !msg) return;
  for (int lines = 0; *msg && lines < 8; lines++) {
    char raw[512];
    size_t len = strcspn(msg, "\n");
    snprintf(raw, sizeof raw, "%.*s", (int)(len < sizeof raw ? len : sizeof raw - 1), msg);
    show(io, 0, raw);
    msg += len + (msg[len] == '\n');
  }
}

static uint64_t now_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct pending { int done; sd_bus_message *reply; sd_bus_error err; };

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
  (void)ret_error;
  struct pending *p = userdata;
  p->done = 1;
  const sd_bus_error *e = sd_bus_message_get_error(m);
  if (e) sd_bus_error_copy(&p->err, e);
  else p->reply = sd_bus_message_ref(m);
  return 0;
}

/* One method call, bounded as a whole by deadline_us (CLOCK_MONOTONIC): the message is queued while the
 * connection authenticates, and this loop, not sd-bus, decides when to give up. 0 with *reply, or a negative
 * errno (-ETIMEDOUT when the budget ran out) with err filled where the daemon answered with an error. */
static int bounded_call(sd_bus *bus, sd_bus_message *m, uint64_t deadline_us, sd_bus_message **reply, sd_bus_error *err) {
  struct pending p = {0, NULL, SD_BUS_ERROR_NULL};
  sd_bus_slot *slot = NULL;
  uint64_t t = now_usec();
  int r = t < deadline_us ? sd_bus_call_async(bus, &slot, m, on_reply, &p, deadline_us - t) : -ETIMEDOUT;
  while (r >= 0 && !p.done) {
    r = sd_bus_process(bus, NULL);
    if (r < 0 || p.done) break;
    if (r > 0) continue;
    t = now_usec();
    if (t >= deadline_us) { r = -ETIMEDOUT; break; }
    r = sd_bus_wait(bus, deadline_us - t);
  }
  sd_bus_slot_unref(slot);
  if (r >= 0 && p.reply) { *reply = p.reply; return 0; }
  if (p.done && sd_bus_error_is_set(&p.err)) {
    sd_bus_error_move(err, &p.err);
    if (sd_bus_error_has_name(err, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(err, SD_BUS_ERROR_TIMEOUT)) return -ETIMEDOUT;
    return -EIO;
  }
  sd_bus_error_free(&p.err);
  return r < 0 ? r : -EIO;
}

enum hook_verdict hook_run(struct hook *h, const struct hook_io *io) {
  if (h->phase == HOOK_OTHER) return HOOK_ALLOW;
  if (!h->user_ok || !valid_user(h->user)) return failure(h, io, "invalid user name");
  if (strcmp(h->user, "root") == 0) return HOOK_ALLOW;
  uint64_t deadline_us = now_usec() + (uint64_t)h->reply_ms * 1000u;

  /* Is this one of ours? Unknown to NSS or outside UIDMin..UIDMax: no D-Bus call at all. */
  double uid_min, uid_max;
  int range_ok = managed_range(h, &uid_min, &uid_max);
  if (!range_ok) say(io, LOG_WARNING, "bad [Users] range (%s; the daemon refuses this config): no user is skipped by UID", h->range_problem);
  /* getpwnam_r, not getpwnam: the application's own static buffer stays its own. A lookup that
   * fails (an NSS source down) is a failure, not "unknown user": only "no such user" skips the call. */
  struct passwd pwbuf, *pw = NULL;
  char *pwtext = NULL;
  int lookup = ERANGE;
  for (size_t cap = 16384; lookup == ERANGE && cap <= (1u << 20); cap *= 4) {
    char *bigger = realloc(pwtext, cap);
    if (!bigger) { lookup = ENOMEM; break; }
    pwtext = bigger;
    lookup = getpwnam_r(h->user, &pwbuf, pwtext, cap, &pw);
  }
  /* getpwnam_r(3): besides 0, ENOENT, ESRCH, EBADF and EPERM may also mean "not found" */
  if (lookup == ENOENT || lookup == ESRCH || lookup == EBADF || lookup == EPERM) lookup = 0, pw = NULL;
  if (lookup != 0) {
    char why[128];
    snprintf(why, sizeof why, "looking up the user failed: %s", strerror(lookup));
    free(pwtext);
    return failure(h, io, why);
  }
  if (!pw || (range_ok && ((double)pw->pw_uid < uid_min || (double)pw->pw_uid > uid_max))) {
    free(pwtext);
    return HOOK_ALLOW;
  }
  char home[4096];
  snprintf(home, sizeof home, "%s", pw->pw_dir ? pw->pw_dir : "");
  free(pwtext);

  sd_bus *bus = NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  enum hook_verdict v = HOOK_ALLOW;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, h->bus);
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) {
    v = failure(h, io, "cannot connect to the bus");
    goto out;
  }
  const char *member = h->phase == HOOK_ACCOUNT ? "CheckLogin"
                     : h->phase == HOOK_OPEN ? (h->in_process ? "OpenSessionHere" : "OpenSession") : "CloseSession";
  r = sd_bus_message_new_method_call(bus, &m, DEST, PATH, IFACE, member);
  if (r >= 0) r = h->phase == HOOK_ACCOUNT ? sd_bus_message_append(m, "sss", h->user, h->service, h->rhost)
                                           : sd_bus_message_append(m, "ssss", h->user, h->service, h->tty, h->rhost);
  if (r >= 0) r = bounded_call(bus, m, deadline_us, &reply, &err);
  if (r < 0) {
    if (allowed_error(err.name)) goto out;
    if (r == -ETIMEDOUT) hook_mark_unresponsive(h);
    char why[512];
    snprintf(why, sizeof why, "diycloudd: %s", err.message ? err.message : strerror(-r));
    v = failure(h, io, why);
    goto out;
  }
  if (access(h->marker, F_OK) == 0) unlink(h->marker);

  if (h->phase == HOOK_ACCOUNT) {
    int allowed = 0;
    const char *reason = NULL;
    if (sd_bus_message_read(reply, "bs", &allowed, &reason) < 0) {
      v = failure(h, io, "unexpected reply from diycloudd");
    } else if (!allowed) {
      char line[600];
      say(io, LOG_NOTICE, "login of %s via %s refused: %s", h->user, h->service, reason);
      snprintf(line, sizeof line, "diycloud: %s", reason);
      show(io, 1, line);
      v = HOOK_REFUSE;
    }
  } else if (h->phase == HOOK_OPEN && shown_to_user(h, home)) {
    show_login_line(io, reply);
  }
out:
  sd_bus_error_free(&err);
  sd_bus_message_unref(reply);
  sd_bus_message_unref(m);
  sd_bus_close_unref(bus); /* no flush: after a timeout the queue may never drain */
  return v;
}
