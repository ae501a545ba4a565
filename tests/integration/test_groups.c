/* tests/integration/test_groups.c - OTP's restart strategies for groups of
 * actors: one_for_all, rest_for_one, and a member giving up.
 * SPDX-License-Identifier: MIT
 *
 * Real processes: the broker, actors-supervisor with a config written to a
 * mkdtemp directory, and the chaos actors it starts.
 */
#include <signal.h>

#include "suptest.h"

/* A node with chaos actors a, b, c (declared in that order) in one group
 * of the given strategy; member policy lines are the same for all. */
static const char *
s_config(const char *strategy, const char *max_restarts)
{
    static char text[2048];
    int n = snprintf(text, sizeof text, "supervisor\n    node = g1\nactor\n");
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n,
            "    %s\n"
            "        service = chaos\n"
            "        address = grp/%s\n"
            "        policy\n"
            "            max_restarts = %s\n"
            "            grace_ms = 2000\n",
            names[i], names[i], max_restarts);
    }
    snprintf(text + n, sizeof text - (size_t)n,
        "group\n"
        "    trio\n"
        "        strategy = %s\n"
        "        members = a b c\n",
        strategy);
    return text;
}

static void
s_start(const char *strategy, const char *max_restarts, int64_t pid[3])
{
    testutil_broker_start(NULL);
    itest_connect();
    suptest_node("g1", s_config(strategy, max_restarts));
    pid[0] = suptest_wait_running("grp/a", 0);
    pid[1] = suptest_wait_running("grp/b", 0);
    pid[2] = suptest_wait_running("grp/c", 0);
}

/* one_for_all: b crashes, and a and c are restarted with it. */
START_TEST(test_groups_one_for_all_restarts_every_member)
{
    int64_t pid[3];
    s_start("one_for_all", "-1", pid);
    kill((pid_t)pid[1], SIGKILL);
    int64_t a = suptest_wait_running("grp/a", pid[0]);
    int64_t b = suptest_wait_running("grp/b", pid[1]);
    int64_t c = suptest_wait_running("grp/c", pid[2]);
    ck_assert_int_ne(a, pid[0]);
    ck_assert_int_ne(b, pid[1]);
    ck_assert_int_ne(c, pid[2]);
    char cause[128];
    suptest_field("grp/a", "cause", cause, sizeof cause);
    ck_assert_msg(strstr(cause, "group trio") != NULL, "cause '%s'", cause);
}
END_TEST

/* rest_for_one: b crashes; b and c (declared after it) restart, a keeps
 * its process. */
START_TEST(test_groups_rest_for_one_restarts_the_later_members)
{
    int64_t pid[3];
    s_start("rest_for_one", "-1", pid);
    kill((pid_t)pid[1], SIGKILL);
    int64_t b = suptest_wait_running("grp/b", pid[1]);
    int64_t c = suptest_wait_running("grp/c", pid[2]);
    ck_assert_int_ne(b, pid[1]);
    ck_assert_int_ne(c, pid[2]);
    /* Both restarts are done, so a would have been stopped by now. */
    int64_t a = suptest_wait_running("grp/a", 0);
    ck_assert_int_eq(a, pid[0]);
}
END_TEST

/* one_for_one (the default strategy): only the crashed member restarts. */
START_TEST(test_groups_one_for_one_restarts_only_the_crashed)
{
    int64_t pid[3];
    s_start("one_for_one", "-1", pid);
    kill((pid_t)pid[0], SIGKILL);
    int64_t a = suptest_wait_running("grp/a", pid[0]);
    ck_assert_int_ne(a, pid[0]);
    ck_assert_int_eq(suptest_wait_running("grp/b", 0), pid[1]);
    ck_assert_int_eq(suptest_wait_running("grp/c", 0), pid[2]);
}
END_TEST

/* one_for_all with max_restarts 0: a member that gives up takes the whole
 * group down for good. */
START_TEST(test_groups_give_up_takes_the_group_down)
{
    int64_t pid[3];
    s_start("one_for_all", "0", pid);
    kill((pid_t)pid[2], SIGKILL);
    suptest_wait_state("grp/c", "dead");
    suptest_wait_state("grp/a", "dead");
    suptest_wait_state("grp/b", "dead");
}
END_TEST

static Suite *
groups_suite(void)
{
    Suite *s = suite_create("groups");
    TCase *tc = suptest_tcase("groups", 60);
    tcase_add_test(tc, test_groups_one_for_all_restarts_every_member);
    tcase_add_test(tc, test_groups_rest_for_one_restarts_the_later_members);
    tcase_add_test(tc, test_groups_one_for_one_restarts_only_the_crashed);
    tcase_add_test(tc, test_groups_give_up_takes_the_group_down);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(groups_suite());
}
