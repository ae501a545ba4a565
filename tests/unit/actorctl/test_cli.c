/* tests/unit/actorctl/test_cli.c - actorctl's command line (cli.c).
 * SPDX-License-Identifier: MIT
 *
 * Parsing only: no broker is involved. The behaviour of the commands
 * against a real broker is checked by tests/interop/test_actorctl.sh.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../../../tools/actorctl/cli.h"
#include "../../testutil.h"

#define ARGV_MAX 16

/* s_parse splits line at spaces into an argv after "actorctl" and parses
 * it into *cli. The words stay valid until the next call. */
static actors_err
s_parse(cli_t *cli, const char *line, char *why, size_t whylen)
{
    static char buf[512];
    static char *argv[ARGV_MAX];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = "actorctl";
    for (char *save = NULL, *w = strtok_r(buf, " ", &save);
         w != NULL && argc < ARGV_MAX - 1; w = strtok_r(NULL, " ", &save)) {
        argv[argc++] = w;
    }
    argv[argc] = NULL;
    return cli_parse(cli, argc, argv, why, whylen);
}

START_TEST(test_cli_call_with_arguments)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(
        s_parse(&cli, "call account/1 deposit 200 {\"a\":1}", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_CALL);
    ck_assert_str_eq(cli.address, "account/1");
    ck_assert_str_eq(cli.method, "deposit");
    ck_assert_int_eq(cli.nargs, 2);
    ck_assert_str_eq(cli.args[0], "200");
    ck_assert_str_eq(cli.args[1], "{\"a\":1}");
    ck_assert_ptr_null(cli.broker);
    ck_assert_uint_eq(cli.timeout_ms, CLI_TIMEOUT_DEFAULT);
    ck_assert(!cli.is_json);
}
END_TEST

/* --call-key names the call (before or after the command, before
 * ADDRESS); --key and --broker-key are the CURVE certificates. */
START_TEST(test_cli_call_with_key)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(
        &cli, "--call-key dep-1 call account/1 deposit 5", why, sizeof why));
    ck_assert_str_eq(cli.key, "dep-1");
    ck_assert_str_eq(cli.method, "deposit");
    TEST_ASSERT_OK(s_parse(
        &cli, "call --call-key dep-2 account/1 deposit 5", why, sizeof why));
    ck_assert_str_eq(cli.key, "dep-2");
    ck_assert_int_eq(cli.nargs, 1);
    TEST_ASSERT_OK(s_parse(&cli, "call account/1 deposit 5", why, sizeof why));
    ck_assert_ptr_null(cli.key);
    ck_assert_ptr_null(cli.cert);
    TEST_ASSERT_OK(s_parse(
        &cli, "--key k/me_secret ping --broker-key k/broker", why, sizeof why));
    ck_assert_str_eq(cli.cert, "k/me_secret");
    ck_assert_str_eq(cli.bcert, "k/broker");
    TEST_ASSERT_OK(
        s_parse(&cli, "keygen alice --role admin --dir keys", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_KEYGEN);
    ck_assert_str_eq(cli.address, "alice");
    ck_assert_str_eq(cli.role, "admin");
    ck_assert_str_eq(cli.dir, "keys");
}
END_TEST

/* Groups: call --route, tell --broadcast, spawn --group; each only where
 * it applies. */
START_TEST(test_cli_group_options)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(
        s_parse(&cli, "call --route user-7 pool/1 pid", why, sizeof why));
    ck_assert_str_eq(cli.route, "user-7");
    ck_assert_str_eq(cli.address, "pool/1");
    TEST_ASSERT_OK(
        s_parse(&cli, "tell --broadcast pool/1 echo 1", why, sizeof why));
    ck_assert(cli.broadcast);
    ck_assert_int_eq(cli.nargs, 1);
    TEST_ASSERT_OK(
        s_parse(&cli, "spawn --group --name pool/1 chaos", why, sizeof why));
    ck_assert(cli.group);
    ck_assert_str_eq(cli.name, "pool/1");
    TEST_ASSERT_OK(s_parse(&cli, "call pool/1 pid", why, sizeof why));
    ck_assert_ptr_null(cli.route);
    ck_assert(!cli.broadcast && !cli.group);
    const char *bad[] = {"tell --route k a m", "call --broadcast a m",
        "call --group a m", "call --route a m", "ls --broadcast"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(s_parse(&cli, bad[i], why, sizeof why) == ACTORS_EINVAL,
            "'%s' was accepted", bad[i]);
    }
}
END_TEST

/* After ADDRESS METHOD every word is an argument, even "-5" or "--help". */
START_TEST(test_cli_dashes_after_method_are_arguments)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(
        &cli, "call account/1 withdraw -5 --help --json", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_CALL);
    ck_assert_int_eq(cli.nargs, 3);
    ck_assert_str_eq(cli.args[0], "-5");
    ck_assert_str_eq(cli.args[1], "--help");
    ck_assert_str_eq(cli.args[2], "--json");
}
END_TEST

START_TEST(test_cli_tell_without_arguments)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(&cli, "tell counter/1 increment", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_TELL);
    ck_assert_str_eq(cli.address, "counter/1");
    ck_assert_str_eq(cli.method, "increment");
    ck_assert_int_eq(cli.nargs, 0);
}
END_TEST

/* Global options go before the command or right after it. */
START_TEST(test_cli_options_before_and_after_the_command)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(
        &cli, "--broker tcp://h:1 --timeout 250 ping", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_PING);
    ck_assert_str_eq(cli.broker, "tcp://h:1");
    ck_assert_uint_eq(cli.timeout_ms, 250);

    TEST_ASSERT_OK(s_parse(
        &cli, "call --timeout=0 --broker=ipc://x a m", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_CALL);
    ck_assert_str_eq(cli.broker, "ipc://x");
    ck_assert_uint_eq(cli.timeout_ms, 0);
    ck_assert_str_eq(cli.address, "a");
    ck_assert_str_eq(cli.method, "m");

    TEST_ASSERT_OK(
        s_parse(&cli, "ls --json --timeout 4294967295", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_LS);
    ck_assert(cli.is_json);
    ck_assert_uint_eq(cli.timeout_ms, 4294967295u);

    TEST_ASSERT_OK(
        s_parse(&cli, "lookup account/1 --timeout 5", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_LOOKUP);
    ck_assert_str_eq(cli.address, "account/1");
    ck_assert_uint_eq(cli.timeout_ms, 5);
}
END_TEST

START_TEST(test_cli_spawn_with_options_and_arguments)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(&cli,
        "spawn account --name account/7 --max-restarts 2 "
        "--max-task-retries -1 --node n1 --get-if-exists 100 -5",
        why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_SPAWN);
    ck_assert_str_eq(cli.service, "account");
    ck_assert_str_eq(cli.name, "account/7");
    ck_assert_str_eq(cli.node, "n1");
    ck_assert_int_eq(cli.max_restarts, 2);
    ck_assert_int_eq(cli.max_task_retries, -1);
    ck_assert(cli.get_if_exists);
    ck_assert_int_eq(cli.nargs, 2);
    ck_assert_str_eq(cli.args[0], "100");
    ck_assert_str_eq(cli.args[1], "-5");
    TEST_ASSERT_OK(s_parse(&cli, "spawn counter", why, sizeof why));
    ck_assert_ptr_null(cli.name);
    ck_assert_int_eq(cli.max_restarts, 0);
    ck_assert_int_eq(cli.nargs, 0);
}
END_TEST

START_TEST(test_cli_kill_stop_events)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(&cli, "kill a/1 --no-restart", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_KILL);
    ck_assert_str_eq(cli.address, "a/1");
    ck_assert(cli.no_restart);
    TEST_ASSERT_OK(s_parse(&cli, "kill a/1", why, sizeof why));
    ck_assert(!cli.no_restart);
    TEST_ASSERT_OK(s_parse(&cli, "stop a/1", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_STOP);
    TEST_ASSERT_OK(s_parse(&cli, "events --since 42 --json", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_EVENTS);
    ck_assert_uint_eq(cli.since, 42);
    ck_assert(cli.is_json);
}
END_TEST

START_TEST(test_cli_wait)
{
    cli_t cli;
    char why[256];
    TEST_ASSERT_OK(s_parse(&cli, "--timeout 500 wait a/1", why, sizeof why));
    ck_assert_int_eq(cli.cmd, CLI_CMD_WAIT);
    ck_assert_str_eq(cli.address, "a/1");
    ck_assert_uint_eq(cli.timeout_ms, 500);
    TEST_ASSERT_OK(s_parse(&cli, "wait a/1", why, sizeof why));
    ck_assert_uint_eq(cli.timeout_ms, CLI_TIMEOUT_DEFAULT);
    const char *bad[] = {"wait", "wait a/1 b/1", "wait --json a/1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(s_parse(&cli, bad[i], why, sizeof why) == ACTORS_EINVAL,
            "'%s' was accepted", bad[i]);
    }
}
END_TEST

START_TEST(test_cli_lifecycle_usage_errors)
{
    cli_t cli;
    char why[256];
    const char *bad[] = {"spawn", "spawn x --max-restarts -2",
        "spawn x --max-restarts lots", "call --no-restart a m",
        "kill a/1 --name b", "ls --since 3", "kill", "stop a b",
        "events --since -1", "spawn x --name", "ping --json", "ls --call-key k",
        "call --call-key a m", "tell --call-key k a m", "keygen", "keygen a b",
        "ping --role admin", "call --dir d a m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(s_parse(&cli, bad[i], why, sizeof why) == ACTORS_EINVAL,
            "'%s' was accepted", bad[i]);
        ck_assert_msg(why[0] != '\0', "'%s' gave no reason", bad[i]);
    }
}
END_TEST

START_TEST(test_cli_help)
{
    const char *lines[] = {"--help", "-h", "ping -h", "--broker x --help",
        "call --help", "--help frob", "--broker x ls --help"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cli_t cli;
        char why[256];
        ck_assert_msg(s_parse(&cli, lines[i], why, sizeof why) == ACTORS_OK,
            "'%s': %s", lines[i], why);
        ck_assert_msg(cli.cmd == CLI_CMD_HELP, "'%s' is not help", lines[i]);
    }
}
END_TEST

START_TEST(test_cli_usage_errors)
{
    const char *lines[] = {"", "frob", "call", "call a", "tell a", "lookup",
        "lookup a b", "ping extra", "ls extra", "--timeout",
        "--timeout soon ping", "--timeout -1 ping", "--timeout 4294967296 ping",
        "--broker", "--broker= ping", "--frob ping", "call --json a m",
        "--timeout=", "ping --json"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cli_t cli;
        char why[256] = "";
        ck_assert_msg(s_parse(&cli, lines[i], why, sizeof why) == ACTORS_EINVAL,
            "'%s' was accepted", lines[i]);
        ck_assert_msg(why[0] != '\0', "'%s': no reason given", lines[i]);
    }
}
END_TEST

START_TEST(test_cli_usage_text_names_every_command)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    cli_usage(f);
    fclose(f);
    const char *words[] = {"usage: actorctl", "call ADDRESS METHOD", "tell",
        "ls [--json]", "lookup ADDRESS", "ping", "--broker", "--timeout",
        "ACTORS_BROKER", "ErrorType: message", "wait ADDRESS", "@PATH",
        "standard input"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        ck_assert_msg(
            strstr(text, words[i]) != NULL, "usage lacks '%s'", words[i]);
    }
    free(text);
}
END_TEST

Suite *cli_suite(void);

Suite *
cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_cli_call_with_arguments);
    tcase_add_test(tc, test_cli_call_with_key);
    tcase_add_test(tc, test_cli_group_options);
    tcase_add_test(tc, test_cli_dashes_after_method_are_arguments);
    tcase_add_test(tc, test_cli_tell_without_arguments);
    tcase_add_test(tc, test_cli_options_before_and_after_the_command);
    tcase_add_test(tc, test_cli_help);
    tcase_add_test(tc, test_cli_spawn_with_options_and_arguments);
    tcase_add_test(tc, test_cli_kill_stop_events);
    tcase_add_test(tc, test_cli_wait);
    tcase_add_test(tc, test_cli_lifecycle_usage_errors);
    tcase_add_test(tc, test_cli_usage_errors);
    tcase_add_test(tc, test_cli_usage_text_names_every_command);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
