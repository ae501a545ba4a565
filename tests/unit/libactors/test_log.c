/* tests/unit/libactors/test_log.c - every log line is one line of
 * well-formed UTF-8, whatever the text it quotes.
 * SPDX-License-Identifier: MIT
 *
 * A log line quotes what peers chose (an address, a service, a topic, a
 * cause). A newline in it would let a peer write a line of its own into
 * the broker's log (a forged "E ... BRK-..." event); a stray byte would
 * break the UTF-8 decoder of a log shipper. The handler must get the text
 * with control bytes and ill-formed sequences written as \xNN, and
 * well-formed text unchanged.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../testutil.h"
#include <actors-internal/utf8.h>
#include <actors/log.h>

static char s_seen[8192];
static int s_lines;

static void
s_capture(
    actors_log_level_t level, const char *msgid, const char *text, void *arg)
{
    (void)level;
    (void)msgid;
    (void)arg;
    snprintf(s_seen, sizeof s_seen, "%s", text);
    s_lines++;
}

/* s_emit logs "address=<a>" through the capturing handler and returns
 * what the handler got. */
static const char *
s_emit(const char *a)
{
    actors_log_set_handler(s_capture, NULL);
    actors_log_set_level(ACTORS_LOG_DEBUG);
    s_seen[0] = '\0';
    ACTORS_LOG(ACTORS_LOG_WARN, "T-LOG", "address=%s cause=\"x\"", a);
    actors_log_set_handler(NULL, NULL);
    return s_seen;
}

START_TEST(test_log_well_formed_text_unchanged)
{
    const char *plain =
        "bank/acct-1 \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82";
    char want[256];
    snprintf(want, sizeof want, "address=%s cause=\"x\"", plain);
    ck_assert_str_eq(s_emit(plain), want);
}
END_TEST

START_TEST(test_log_newline_cannot_start_a_line)
{
    const char *forged = "a/1\n2026-12-07T00:00:00.000Z E actors-broker[1] "
                         "BRK-FORGED x\r\ty\x7f";
    const char *got = s_emit(forged);
    ck_assert_ptr_null(strchr(got, '\n'));
    ck_assert_ptr_null(strchr(got, '\r'));
    ck_assert_ptr_null(strchr(got, '\t'));
    ck_assert_ptr_null(strchr(got, '\x7f'));
    ck_assert_str_eq(got,
        "address=a/1\\x0a2026-12-07T00:00:00.000Z E actors-broker[1] "
        "BRK-FORGED x\\x0d\\x09y\\x7f cause=\"x\"");
}
END_TEST

START_TEST(test_log_ill_formed_utf8_escaped)
{
    /* A lone continuation byte, a cut-off three-byte sequence (one
     * maximal subpart of two bytes), a surrogate, an overlong slash, a
     * byte that is never UTF-8; the well-formed character between them
     * stays as it is. */
    const char *got =
        s_emit("\x80|\xe2\x82|\xed\xa0\x80|\xc0\xaf|\xff|\xc3\xa9");
    ck_assert_str_eq(got, "address=\\x80|\\xe2\\x82|\\xed\\xa0\\x80|\\xc0\\xaf|"
                          "\\xff|\xc3\xa9 cause=\"x\"");
    ck_assert(actors__utf8_is_valid(got, strlen(got)));
}
END_TEST

START_TEST(test_log_longest_text_fits_escaped)
{
    /* The formatted text is cut at 1023 bytes; all of them escaped (4
     * bytes each) still reach the handler whole. */
    char many[2000];
    memset(many, '\x01', sizeof many - 1);
    many[sizeof many - 1] = '\0';
    const char *got = s_emit(many);
    ck_assert_uint_eq(strlen(got), strlen("address=") + 4 * (1023 - 8));
    ck_assert(actors__utf8_is_valid(got, strlen(got)));
    ck_assert_ptr_null(strchr(got, '\x01'));
}
END_TEST

Suite *log_suite(void);

Suite *
log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_log_well_formed_text_unchanged);
    tcase_add_test(tc, test_log_newline_cannot_start_a_line);
    tcase_add_test(tc, test_log_ill_formed_utf8_escaped);
    tcase_add_test(tc, test_log_longest_text_fits_escaped);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
