/* tests/integration/test_scripts.c - the deployment scripts' own logic,
 * with fake commands in PATH (no real package manager, no Docker).
 * SPDX-License-Identifier: MIT
 *
 * scripts/apt-wait.sh (used by scripts/docker-base-image.sh) must wait
 * while another apt-get holds the dpkg lock instead of failing at once
 * (issue 14), and must still fail at once on any other error. A fake
 * apt-get answers "Could not get lock" a set number of times, counting
 * its calls in a file.
 */
#include "itest.h"

#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static void
s_setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/actors-scripts-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void
s_teardown(void)
{
    const char *files[] = {"apt-get", "calls"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", g_dir, files[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

/* s_fake_apt writes an apt-get that fails locked times with a lock error
 * (or with another error when other), then succeeds. */
static void
s_fake_apt(int locked, bool other)
{
    char path[128];
    snprintf(path, sizeof path, "%s/apt-get", g_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
        "#!/bin/sh\n"
        "n=$(cat '%s/calls' 2>/dev/null || echo 0)\n"
        "n=$((n + 1))\n"
        "echo $n >'%s/calls'\n"
        "if [ %d = 1 ]; then\n"
        "    echo 'E: Unable to locate package nothere' >&2; exit 100\n"
        "fi\n"
        "if [ $n -le %d ]; then\n"
        "    echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held "
        "by process 4242 (apt-get)' >&2\n"
        "    exit 100\n"
        "fi\n"
        "echo \"installed: $*\"\n",
        g_dir, g_dir, other ? 1 : 0, locked);
    fclose(f);
    chmod(path, 0755);
}

static int
s_calls(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/calls", g_dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &n) != 1) {
            n = 0;
        }
        fclose(f);
    }
    return n;
}

/* s_run runs scripts/apt-wait.sh ARGS with the fake first in PATH. */
static int
s_run(char *out, size_t olen, char *err, size_t elen)
{
    char script[512];
    snprintf(
        script, sizeof script, "%s/scripts/apt-wait.sh", testutil_srcdir());
    const char *path = getenv("PATH");
    char newpath[4096];
    snprintf(newpath, sizeof newpath, "%s:%s", g_dir, path ? path : "");
    char *saved = path ? strdup(path) : NULL;
    setenv("PATH", newpath, 1);
    setenv("ACTORS_APT_WAIT_S", "60", 1);
    const char *argv[] = {"/bin/bash", script, "install", "-y", "x", NULL};
    int rc = testutil_run(argv, 60000, out, olen, err, elen);
    if (saved != NULL) {
        setenv("PATH", saved, 1);
        free(saved);
    }
    unsetenv("ACTORS_APT_WAIT_S");
    return rc;
}

/* Before: apt-get failed at once on the lock; now it is tried again,
 * with a backoff, until the lock is free. */
START_TEST(test_scripts_apt_waits_for_the_lock)
{
    s_fake_apt(2, false);
    char out[1024];
    char err[2048];
    int rc = s_run(out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "apt-wait failed (%d): %s", rc, err);
    ck_assert_int_eq(s_calls(), 3);
    ck_assert_ptr_nonnull(strstr(out, "installed: "));
    ck_assert_ptr_nonnull(strstr(out, "DPkg::Lock::Timeout=60"));
    ck_assert_ptr_nonnull(strstr(err, "holds the lock"));
}
END_TEST

/* Any other error is not waited on: one call, apt-get's status. */
START_TEST(test_scripts_apt_other_errors_fail_at_once)
{
    s_fake_apt(0, true);
    char out[1024];
    char err[2048];
    int rc = s_run(out, sizeof out, err, sizeof err);
    ck_assert_int_eq(rc, 100);
    ck_assert_int_eq(s_calls(), 1);
    ck_assert_ptr_nonnull(strstr(err, "Unable to locate package"));
}
END_TEST

static Suite *
scripts_suite(void)
{
    Suite *s = suite_create("scripts");
    TCase *tc = tcase_create("scripts");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scripts_apt_waits_for_the_lock);
    tcase_add_test(tc, test_scripts_apt_other_errors_fail_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(scripts_suite());
}
