/* tests/unit/supervisor/test_child.c - finding, spawning, naming exits.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../supervisor/child.h"

START_TEST(test_child_describes_exits)
{
    char buf[96];
    child_describe_exit(3 << 8, buf, sizeof buf); /* exited with 3 */
    ck_assert_str_eq(buf, "exit code 3");
    child_describe_exit(SIGSEGV, buf, sizeof buf);
    ck_assert_str_eq(buf, "signal 11 (SIGSEGV)");
    child_describe_exit(SIGKILL, buf, sizeof buf);
    ck_assert_str_eq(buf, "signal 9 (SIGKILL)");
}
END_TEST

START_TEST(test_child_finds_binary_in_path)
{
    char buf[4096];
    ck_assert_int_eq(child_find_binary("sh", "/nonexistent", "/usr/bin:/bin",
                         buf, sizeof buf),
        ACTORS_OK);
    ck_assert(strcmp(buf, "/usr/bin/sh") == 0 || strcmp(buf, "/bin/sh") == 0);
    ck_assert_int_eq(
        child_find_binary("no-such-service-xyz", "/bin", NULL, buf, sizeof buf),
        ACTORS_EINVAL);
}
END_TEST

/* The command line and environment reach the child exactly: a script
 * checks them and exits 7 only if all match. The constructor arguments
 * follow "--"; the claim is the one given, not an inherited one nor the
 * spec's. */
START_TEST(test_child_spawns_with_args_and_env)
{
    char dir[] = "/tmp/actors-child-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/fake-service", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\n"
          "[ \"$1\" = --broker ] && [ \"$2\" = tcp://x:1 ] && "
          "[ \"$3\" = --address ] && [ \"$4\" = a/1 ] && "
          "[ \"$5\" = --prefetch ] && [ \"$6\" = 3 ] && [ \"$7\" = -- ] && "
          "[ \"$8\" = 100 ] && [ \"$9\" = '\"x y\"' ] && [ $# -eq 9 ] && "
          "[ \"$ACTORS_TEST_VAR\" = yes ] && [ \"$ACTORS_CLAIM\" = c1 ] && "
          "exit 7\n"
          "exit 1\n",
        f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0755), 0);
    char *args[] = {"100", "\"x y\"", NULL};
    /* A spec cannot set the claim: only child_spawn's is the child's. */
    char *env[] = {"ACTORS_TEST_VAR=yes", "ACTORS_CLAIM=forged", NULL};
    child_spec_t spec = {0};
    spec.service = "fake-service";
    spec.address = "a/1";
    spec.args = args;
    spec.nargs = 2;
    spec.env = env;
    spec.nenv = 2;
    spec.prefetch = 3;
    setenv("ACTORS_TEST_VAR", "inherited-and-shadowed", 1);
    setenv("ACTORS_CLAIM", "inherited", 1);
    char bin[4096];
    ck_assert_int_eq(
        child_find_binary("fake-service", dir, NULL, bin, sizeof bin),
        ACTORS_OK);
    pid_t pid = 0;
    ck_assert_int_eq(
        child_spawn(&spec, bin, "tcp://x:1", "c1", &pid), ACTORS_OK);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    unlink(path);
    rmdir(dir);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 7);
}
END_TEST

Suite *child_suite(void);

Suite *
child_suite(void)
{
    Suite *s = suite_create("child");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_child_describes_exits);
    tcase_add_test(tc, test_child_finds_binary_in_path);
    tcase_add_test(tc, test_child_spawns_with_args_and_env);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(child_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
