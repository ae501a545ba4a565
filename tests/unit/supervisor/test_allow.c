/* tests/unit/supervisor/test_allow.c - what a SPAWN may run (allow.h),
 * with configs read by config.c.
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../supervisor/allow.h"
#include "../../../supervisor/config.h"

#include "../../testutil.h"

static sup_config_t *
s_config(const char *zpl)
{
    sup_config_t *cfg = NULL;
    char err[256] = "";
    ck_assert_msg(
        config_parse_str(&cfg, zpl, err, sizeof err) == ACTORS_OK, "%s", err);
    return cfg;
}

/* s_check runs allow_spawn on a spec of service with env and args (NULL
 * terminated lists; NULL: none); returns its code, the reason in why. */
static actors_err
s_check(const sup_config_t *cfg, const char *service, char **env, char **args,
    char *why, size_t len)
{
    child_spec_t spec = {0};
    spec.service = (char *)service;
    spec.address = "x/1";
    spec.env = env;
    while (env != NULL && env[spec.nenv] != NULL) {
        spec.nenv++;
    }
    spec.args = args;
    while (args != NULL && args[spec.nargs] != NULL) {
        spec.nargs++;
    }
    why[0] = '\0';
    return allow_spawn(cfg, &spec, why, len);
}

static const char *s_zpl = "supervisor\n"
                           "    node = n1\n"
                           "    services = chaos, store\n"
                           "    spawn_env = FOO ACTORS_LOG_LEVEL\n"
                           "actor\n"
                           "    c\n"
                           "        service = counter\n"
                           "        address = counter/1\n";

START_TEST(test_allow_services)
{
    sup_config_t *cfg = s_config(s_zpl);
    char why[320];
    /* Named by an actor entry, or listed. */
    ck_assert_int_eq(
        s_check(cfg, "counter", NULL, NULL, why, sizeof why), ACTORS_OK);
    ck_assert_int_eq(
        s_check(cfg, "chaos", NULL, NULL, why, sizeof why), ACTORS_OK);
    ck_assert_int_eq(
        s_check(cfg, "store", NULL, NULL, why, sizeof why), ACTORS_OK);
    /* Neither. */
    ck_assert_int_eq(s_check(cfg, "account", NULL, NULL, why, sizeof why),
        ACTORS_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(why, "'account'"));
    ck_assert_ptr_nonnull(strstr(why, "n1"));
    /* The framework's tools, even when listed. */
    config_destroy(&cfg);
    cfg = s_config("supervisor\n"
                   "    services = actors-broker actorctl actors-supervisor "
                   "actors-bench actors-x\n");
    const char *tools[] = {"actors-broker", "actors-supervisor", "actorctl",
        "actors-bench", "actors-x"};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        ck_assert_int_eq(s_check(cfg, tools[i], NULL, NULL, why, sizeof why),
            ACTORS_EFORBIDDEN);
        ck_assert_ptr_nonnull(strstr(why, tools[i]));
        ck_assert_ptr_nonnull(strstr(why, "framework"));
    }
    config_destroy(&cfg);
    /* No config: nothing may be spawned. */
    cfg = s_config("");
    ck_assert_int_eq(
        s_check(cfg, "chaos", NULL, NULL, why, sizeof why), ACTORS_EFORBIDDEN);
    config_destroy(&cfg);
}
END_TEST

START_TEST(test_allow_service_dir)
{
    char dir[] = "/tmp/actors-allow-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/svc", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0755), 0);
    char zpl[512];
    snprintf(zpl, sizeof zpl, "supervisor\n    service_dir = %s\n", dir);
    sup_config_t *cfg = s_config(zpl);
    char why[320];
    ck_assert_int_eq(
        s_check(cfg, "svc", NULL, NULL, why, sizeof why), ACTORS_OK);
    ck_assert_int_eq(
        s_check(cfg, "other", NULL, NULL, why, sizeof why), ACTORS_EFORBIDDEN);
    config_destroy(&cfg);
    unlink(path);
    rmdir(dir);
    /* A service_dir that is not there is a config error. */
    sup_config_t *bad = NULL;
    char err[256] = "";
    ck_assert_int_eq(config_parse_str(&bad,
                         "supervisor\n    service_dir = /nonexistent/dir\n",
                         err, sizeof err),
        ACTORS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "service_dir"));
}
END_TEST

START_TEST(test_allow_env)
{
    sup_config_t *cfg = s_config(s_zpl);
    char why[320];
    char *ok[] = {"FOO=1", "ACTORS_LOG_LEVEL=debug", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", ok, NULL, why, sizeof why), ACTORS_OK);
    char *other[] = {"BAR=1", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", other, NULL, why, sizeof why), ACTORS_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(why, "BAR"));
    const char *denied[] = {"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp",
        "PATH=/tmp", "ACTORS_STATE_DIR=/tmp/x", "ACTORS_REDIS=tcp://evil",
        "ACTORS_BROKER=tcp://evil:1", "ACTORS_CLAIM=x", "ACTORS_KEY=/k",
        "GCONV_PATH=/tmp", "ASAN_OPTIONS=log_path=/tmp/x", "ld_preload=/x"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        char *env[] = {(char *)denied[i], NULL};
        ck_assert_int_eq(s_check(cfg, "chaos", env, NULL, why, sizeof why),
            ACTORS_EFORBIDDEN);
        size_t n = strcspn(denied[i], "=");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, denied[i]);
        ck_assert_msg(strstr(why, name) != NULL, "'%s' lacks %s", why, name);
    }
    char *malformed[] = {"NOEQUALS", NULL};
    ck_assert_int_eq(s_check(cfg, "chaos", malformed, NULL, why, sizeof why),
        ACTORS_EFORBIDDEN);
    config_destroy(&cfg);
    /* Denied names cannot be allowed by the config either. */
    sup_config_t *bad = NULL;
    char err[256] = "";
    ck_assert_int_eq(
        config_parse_str(&bad, "supervisor\n    spawn_env = FOO LD_PRELOAD\n",
            err, sizeof err),
        ACTORS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "LD_PRELOAD"));
    ck_assert_int_eq(
        config_parse_str(&bad, "supervisor\n    spawn_env = ACTORS_STATE_DIR\n",
            err, sizeof err),
        ACTORS_EINVAL);
    /* The default: ACTORS_LOG_LEVEL alone. */
    cfg = s_config("supervisor\n    services = chaos\n");
    char *level[] = {"ACTORS_LOG_LEVEL=info", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", level, NULL, why, sizeof why), ACTORS_OK);
    char *foo[] = {"FOO=1", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", foo, NULL, why, sizeof why), ACTORS_EFORBIDDEN);
    config_destroy(&cfg);
}
END_TEST

START_TEST(test_allow_args)
{
    sup_config_t *cfg = s_config(s_zpl);
    char why[320];
    char *ok[] = {"100", "\"--broker\"", "[1, 2]", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", NULL, ok, why, sizeof why), ACTORS_OK);
    char *bad[] = {"--broker", "tcp://127.0.0.1:1", NULL};
    ck_assert_int_eq(
        s_check(cfg, "chaos", NULL, bad, why, sizeof why), ACTORS_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(why, "--broker"));
    config_destroy(&cfg);
}
END_TEST

Suite *allow_suite(void);

Suite *
allow_suite(void)
{
    Suite *s = suite_create("allow");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_allow_services);
    tcase_add_test(tc, test_allow_service_dir);
    tcase_add_test(tc, test_allow_env);
    tcase_add_test(tc, test_allow_args);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(allow_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
