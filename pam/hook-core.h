/* diycloud's login gate, shared by the PAM module (pam_diycloud.so, run inside the PAM application) and the
 * pam_exec program (pam-hook, run as a child). Each phase makes at most one bounded D-Bus call to diycloudd
 * and decides from the answer; docs/pam-hook.md has the whole behaviour.
 *
 * No globals, no signals, no exit(): the module runs inside sshd, login, su, sudo and cron, so all state lives
 * in a struct hook the caller owns, text leaves only through the two callbacks, and every wait is bounded by
 * a deadline on the caller's own poll loop. */
#ifndef DIYCLOUD_HOOK_CORE_H
#define DIYCLOUD_HOOK_CORE_H

enum hook_phase { HOOK_OTHER = 0, HOOK_ACCOUNT, HOOK_OPEN, HOOK_CLOSE };

/* What the caller decides from hook_run(). */
enum hook_verdict {
  HOOK_ALLOW = 0,  /* the login proceeds (also: not ours, root, failure with FailureMode=open) */
  HOOK_REFUSE = 1, /* the daemon refused, or a failure with FailureMode=closed at a gate */
};

struct hook_io {
  void *data;
  /* One log line, already escaped (printable ASCII only). prio is a syslog priority. */
  void (*log)(void *data, int prio, const char *line);
  /* One line for the person logging in, already escaped: is_error for a refusal, else information. */
  void (*show)(void *data, int is_error, const char *line);
};

struct hook_uid_key { int set; double v; };

struct hook {
  enum hook_phase phase;
  int user_ok; /* the PAM user fitted and was copied */
  char user[40], service[256], tty[256], rhost[256];
  /* from the config */
  int closed;
  char budget[32];
  struct hook_uid_key uid_min, uid_max;
  char range_problem[256]; /* the first reason the daemon would refuse [Users] */
  char bus[512];
  char rundir[256];
  /* set by the caller after hook_init: 1 when the gate runs inside the PAM application (the module), so the
   * daemon is asked to place the calling process itself (OpenSessionHere), not the caller's parent */
  int in_process;
  /* derived by hook_init */
  char marker[300];    /* the circuit breaker's file */
  long reply_ms;       /* the whole call's budget (connect, authenticate, call, reply) */
};

/* Copies and checks the PAM items (any may be NULL) and reads the config at conf_path. Never fails: a bad
 * item or config becomes a safe value or a logged warning, exactly as the daemon's own parser would see it. */
void hook_init(struct hook *h, const struct hook_io *io, enum hook_phase phase, const char *user, const char *service,
               const char *tty, const char *rhost, const char *conf_path);

/* The phase's decision: at most one D-Bus call, bounded by h->reply_ms. */
enum hook_verdict hook_run(struct hook *h, const struct hook_io *io);

/* Whether this phase can refuse a login (account, open_session). */
int hook_is_gate(const struct hook *h);

/* Leaves the circuit breaker's marker (the budget ran out): later calls wait a tenth of the budget. */
void hook_mark_unresponsive(const struct hook *h);

/* The one way text leaves the gate: printable ASCII stays, a backslash is doubled, every other byte becomes
 * \xNN. At most n-1 characters (n >= 4); a longer text is cut between two escapes and ends in "...". */
void hook_escape(char *dst, unsigned long n, const char *src);

#endif
