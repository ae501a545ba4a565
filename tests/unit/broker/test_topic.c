/* tests/unit/broker/test_topic.c - topic names and NATS-style wildcards.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../../broker/topic.h"

static bool
s_valid(const char *s, bool pattern)
{
    return brk_topic_valid(s, strlen(s), pattern);
}

static bool
s_match(const char *p, const char *t)
{
    ck_assert_msg(s_valid(p, true), "pattern %s", p);
    ck_assert_msg(s_valid(t, false), "topic %s", t);
    return brk_topic_match(p, strlen(p), t, strlen(t));
}

START_TEST(test_topic_valid)
{
    ck_assert(s_valid("a", false));
    ck_assert(s_valid("orders.created.eu", false));
    ck_assert(s_valid("account/1.x", false));
    ck_assert(s_valid("a*.b>", false)); /* not wildcards inside a segment */
    ck_assert(!s_valid("", false));
    ck_assert(!s_valid(".a", false));
    ck_assert(!s_valid("a.", false));
    ck_assert(!s_valid("a..b", false));
    ck_assert(!s_valid("a b", false));
    ck_assert(!s_valid("a\tb", false));
    ck_assert(!s_valid("a.*", false));
    ck_assert(!s_valid(">", false));
    ck_assert(s_valid("a.*", true));
    ck_assert(s_valid("*", true));
    ck_assert(s_valid(">", true));
    ck_assert(s_valid("*.b.>", true));
    ck_assert(!s_valid(">.a", true));
    ck_assert(!s_valid("a.>.b", true));
    ck_assert(!s_valid("a..*", true));
    char big[300];
    memset(big, 'x', sizeof big);
    ck_assert(brk_topic_valid(big, 255, false));
    ck_assert(!brk_topic_valid(big, 256, false));
    ck_assert(!brk_topic_valid("a\0b", 3, false));
}
END_TEST

START_TEST(test_topic_match)
{
    ck_assert(s_match("a", "a"));
    ck_assert(!s_match("a", "b"));
    ck_assert(!s_match("a", "ab"));
    ck_assert(!s_match("ab", "a"));
    ck_assert(!s_match("a", "a.b"));
    ck_assert(!s_match("a.b", "a"));
    ck_assert(s_match("a.b", "a.b"));
    ck_assert(s_match("*", "a"));
    ck_assert(!s_match("*", "a.b"));
    ck_assert(s_match("a.*", "a.b"));
    ck_assert(!s_match("a.*", "a"));
    ck_assert(!s_match("a.*", "a.b.c"));
    ck_assert(s_match("*.b.*", "a.b.c"));
    ck_assert(!s_match("*.b.*", "a.x.c"));
    ck_assert(s_match(">", "a"));
    ck_assert(s_match(">", "a.b.c"));
    ck_assert(s_match("a.>", "a.b"));
    ck_assert(s_match("a.>", "a.b.c"));
    ck_assert(!s_match("a.>", "a"));
    ck_assert(!s_match("a.>", "b.c"));
    ck_assert(s_match("*.>", "a.b"));
    ck_assert(!s_match("*.>", "a"));
    ck_assert(s_match("a.*.>", "a.b.c.d"));
    ck_assert(!s_match("a.*.>", "a.b"));
    ck_assert(s_match("actors.lifecycle.*.>", "actors.lifecycle.exit.x/1"));
    ck_assert(!s_match("a.b", "a.bc"));
    ck_assert(!s_match("a.bc", "a.b"));
    ck_assert(s_match("a*", "a*")); /* an ordinary byte inside a segment */
    ck_assert(!s_match("a*", "ab"));
}
END_TEST

Suite *topic_suite(void);

Suite *
topic_suite(void)
{
    Suite *s = suite_create("topic");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_topic_valid);
    tcase_add_test(tc, test_topic_match);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(topic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
