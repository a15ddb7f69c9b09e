/* diycloud-pam-verify: proves a user's current password through PAM, for diycloudd's SetPassword.
 *
 * Usage: diycloud-pam-verify -- USER   (the password on stdin, one line, never in argv)
 * Runs PAM service "diycloud" (the system's auth and account stacks): /etc/pam.d/diycloud where an admin
 * made one, else the packaged /usr/lib/diycloud/pam.d/diycloud (pam/diycloud.pam), read through
 * pam_start_confdir, so installing or removing the package never adds or leaves a file in /etc/pam.d.
 * pam_authenticate, then pam_acct_mgmt, so a locked or expired account does not pass (an expired
 * *password* does: changing it is the point). Exit status: 0 proven, 1 refused, 2 usage or error.
 * The environment is cleared first; nothing is printed but a one-line reason on stderr.
 */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DIYCLOUD_PAM_DIR
#define DIYCLOUD_PAM_DIR "/usr/lib/diycloud/pam.d"
#endif

static char password[520];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
  (void)data;
  struct pam_response *r = calloc((size_t)n, sizeof *r);
  if (!r) return PAM_BUF_ERR;
  for (int i = 0; i < n; i++) {
    if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) r[i].resp = strdup(password);
  }
  *resp = r;
  return PAM_SUCCESS;
}

int main(int argc, char **argv) {
  clearenv();
  if (argc != 3 || strcmp(argv[1], "--") != 0 || argv[2][0] == '\0' || argv[2][0] == '-') {
    fputs("usage: diycloud-pam-verify -- USER < password\n", stderr);
    return 2;
  }
  if (!fgets(password, sizeof password, stdin)) return 2;
  password[strcspn(password, "\n")] = '\0';
  struct pam_conv c = {conv, NULL};
  pam_handle_t *h = NULL;
  /* The packaged service only where it exists and no /etc/pam.d/diycloud does; otherwise PAM's own lookup
   * (/etc/pam.d/diycloud, else /etc/pam.d/other), as before. */
  int vendor = access("/etc/pam.d/diycloud", F_OK) != 0 && access(DIYCLOUD_PAM_DIR "/diycloud", F_OK) == 0;
  int r = vendor ? pam_start_confdir("diycloud", argv[2], &c, DIYCLOUD_PAM_DIR, &h) : pam_start("diycloud", argv[2], &c, &h);
  if (r != PAM_SUCCESS) {
    fprintf(stderr, "pam_start: %s\n", pam_strerror(h, r));
    return 2;
  }
  r = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (r == PAM_SUCCESS) {
    r = pam_acct_mgmt(h, PAM_SILENT);
    if (r == PAM_NEW_AUTHTOK_REQD) r = PAM_SUCCESS;
  }
  if (r != PAM_SUCCESS) fprintf(stderr, "%s\n", pam_strerror(h, r));
  explicit_bzero(password, sizeof password);
  pam_end(h, r);
  return r == PAM_SUCCESS ? 0 : 1;
}
