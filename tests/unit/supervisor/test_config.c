/* tests/unit/supervisor/test_config.c - ZPL configuration.
 * SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../../supervisor/config.h"

static const char *s_good = "supervisor\n"
                            "    node = n1\n"
                            "    path = /opt/a:/opt/b\n"
                            "actor\n"
                            "    account\n"
                            "        service = account\n"
                            "        address = account/1\n"
                            "        args = '[100, 20, \"x y\"]'\n"
                            "        env\n"
                            "            ACTORS_LOG_LEVEL = debug\n"
                            "        policy\n"
                            "            max_restarts = 2\n"
                            "            intensity = 5\n"
                            "            period_ms = 10000\n"
                            "            backoff_factor = 1.5\n"
                            "    store\n"
                            "        service = counter\n"
                            "        address = store/{i}\n"
                            "        replicas = 3\n"
                            "        prefetch = 1\n";

START_TEST(test_config_parses_actors_and_policy)
{
    sup_config_t *cfg = NULL;
    char err[256] = "";
    ck_assert_int_eq(
        config_parse_str(&cfg, s_good, err, sizeof err), ACTORS_OK);
    ck_assert_str_eq(cfg->node, "n1");
    ck_assert_str_eq(cfg->path, "/opt/a:/opt/b");
    ck_assert_int_eq(cfg->nchildren, 4);
    child_spec_t *a = &cfg->children[0];
    ck_assert_str_eq(a->service, "account");
    ck_assert_str_eq(a->address, "account/1");
    ck_assert_int_eq(a->nargs, 3);
    ck_assert_str_eq(a->args[0], "100");
    ck_assert_str_eq(a->args[1], "20");
    ck_assert_str_eq(a->args[2], "\"x y\"");
    ck_assert_int_eq(a->nenv, 1);
    ck_assert_str_eq(a->env[0], "ACTORS_LOG_LEVEL=debug");
    ck_assert_int_eq(a->policy.max_restarts, 2);
    ck_assert_int_eq(a->policy.intensity, 5);
    ck_assert_uint_eq(a->policy.period_ms, 10000);
    ck_assert(a->policy.backoff_factor == 1.5);
    ck_assert_str_eq(cfg->children[1].address, "store/1");
    ck_assert_str_eq(cfg->children[3].address, "store/3");
    ck_assert_int_eq(a->prefetch, 0); /* the service's default */
    ck_assert_int_eq(cfg->children[1].prefetch, 1);
    ck_assert_int_eq(cfg->children[3].prefetch, 1);
    ck_assert_int_eq(cfg->children[3].policy.max_restarts, 0);
    config_destroy(&cfg);
    ck_assert_ptr_null(cfg);
}
END_TEST

static void
s_expect_invalid(const char *text, const char *needle)
{
    sup_config_t *cfg = NULL;
    char err[256] = "";
    ck_assert_int_eq(
        config_parse_str(&cfg, text, err, sizeof err), ACTORS_EINVAL);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(
        strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
}

START_TEST(test_config_rejects_bad_values)
{
    s_expect_invalid("actor\n    a\n        address = a/1\n", "service");
    s_expect_invalid("actor\n    a\n        service = counter\n", "address");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\n        args = 12\n",
        "JSON array");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\n        policy\n"
                     "            max_restarts = lots\n",
        "max_restarts");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\n        prefetch = 0\n",
        "prefetch");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\n    b\n"
                     "        service = counter\n        address = a/1\n",
        "twice");
}
END_TEST

/* group = true: the replicas share the address as members of its group;
 * a {i} in it, a bad value, or a single actor at the same address are
 * refused. */
START_TEST(test_config_group_address)
{
    sup_config_t *cfg = NULL;
    char err[256] = "";
    const char *text = "actor\n    pool\n        service = store\n"
                       "        address = store/pool\n        replicas = 3\n"
                       "        group = true\n    one\n"
                       "        service = counter\n        address = c/1\n";
    ck_assert_int_eq(config_parse_str(&cfg, text, err, sizeof err), ACTORS_OK);
    ck_assert_int_eq(cfg->nchildren, 4);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(cfg->children[i].address, "store/pool");
        ck_assert_int_eq(cfg->children[i].member, 1);
    }
    ck_assert_int_eq(cfg->children[3].member, 0);
    config_destroy(&cfg);
    s_expect_invalid("actor\n    a\n        service = store\n"
                     "        address = s/{i}\n        replicas = 2\n"
                     "        group = true\n",
        "no {i}");
    s_expect_invalid("actor\n    a\n        service = store\n"
                     "        address = s/1\n        group = maybe\n",
        "true or false");
    s_expect_invalid("actor\n    a\n        service = store\n"
                     "        address = s/1\n        group = true\n    b\n"
                     "        service = store\n        address = s/1\n",
        "twice");
}
END_TEST

START_TEST(test_config_empty_is_a_node_without_actors)
{
    sup_config_t *cfg = NULL;
    char err[64];
    ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof err), ACTORS_OK);
    ck_assert_int_eq(cfg->nchildren, 0);
    ck_assert_ptr_nonnull(cfg->node);
    config_destroy(&cfg);
    ck_assert_int_eq(config_load(&cfg, "/nonexistent/x.zpl", err, sizeof err),
        ACTORS_EINVAL);
    ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_config_groups)
{
    const char *text = "actor\n"
                       "    a\n        service = counter\n"
                       "        address = a/1\n"
                       "    b\n        service = counter\n"
                       "        address = b/{i}\n        replicas = 2\n"
                       "    c\n        service = counter\n"
                       "        address = c/1\n"
                       "group\n"
                       "    g\n        strategy = rest_for_one\n"
                       "        members = b a\n";
    sup_config_t *cfg = NULL;
    char err[256] = "";
    ck_assert_int_eq(config_parse_str(&cfg, text, err, sizeof err), ACTORS_OK);
    ck_assert_int_eq(cfg->ngroups, 1);
    ck_assert_str_eq(cfg->groups[0].name, "g");
    ck_assert_int_eq(cfg->groups[0].strategy, GROUP_REST_FOR_ONE);
    ck_assert_int_eq(cfg->children[0].group, 0); /* a */
    ck_assert_int_eq(cfg->children[0].group_pos, 1);
    ck_assert_int_eq(cfg->children[1].group, 0); /* b/1 */
    ck_assert_int_eq(cfg->children[1].group_pos, 0);
    ck_assert_int_eq(cfg->children[2].group_pos, 0); /* b/2 */
    ck_assert_int_eq(cfg->children[3].group, -1);    /* c */
    config_destroy(&cfg);
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\ngroup\n    g\n"
                     "        strategy = all_for_none\n        members = a\n",
        "strategy");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\ngroup\n    g\n"
                     "        members = a zz\n",
        "zz");
    s_expect_invalid("actor\n    a\n        service = counter\n"
                     "        address = a/1\ngroup\n    g\n"
                     "        members = a\n    h\n        members = a\n",
        "two groups");
}
END_TEST

Suite *config_suite(void);

Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_config_parses_actors_and_policy);
    tcase_add_test(tc, test_config_rejects_bad_values);
    tcase_add_test(tc, test_config_empty_is_a_node_without_actors);
    tcase_add_test(tc, test_config_groups);
    tcase_add_test(tc, test_config_group_address);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
