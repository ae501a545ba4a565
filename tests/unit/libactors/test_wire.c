/* tests/unit/libactors/test_wire.c - the ACT1 header and error bodies.
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <actors/error.h>
#include <actors/msg.h>

#include "../../testutil.h"
#include "alloc.h"
#include "wire.h"

START_TEST(test_wire_header_roundtrip)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX];
    uint8_t id[ACTORS_WIRE_ID_MAX];
    for (size_t i = 0; i < sizeof id; i++) {
        id[i] = (uint8_t)i;
    }
    size_t lens[] = {0, 8, ACTORS_WIRE_ID_MAX};
    for (size_t k = 0; k < 3; k++) {
        size_t n =
            actors__hdr_write(buf, ACTORS_CMD_CALL, 0x01020304u, id, lens[k]);
        ck_assert_uint_eq(n, ACTORS_WIRE_HDR_MIN + lens[k]);
        ck_assert_int_eq(memcmp(buf, "ACT1", 4), 0);
        ck_assert_uint_eq(buf[6], 1);
        ck_assert_uint_eq(buf[9], 4);
        actors__hdr_t h;
        TEST_ASSERT_OK(actors__hdr_parse(buf, n, &h));
        ck_assert_uint_eq(h.cmd, ACTORS_CMD_CALL);
        ck_assert_uint_eq(h.flags, 0);
        ck_assert_uint_eq(h.timeout_ms, 0x01020304u);
        ck_assert_uint_eq(h.id_len, lens[k]);
        ck_assert(h.id == buf + ACTORS_WIRE_HDR_MIN);
        ck_assert_int_eq(memcmp(h.id, id, lens[k]), 0);
    }
    actors__hdr_set_cmd(buf, ACTORS_CMD_REPLY);
    actors__hdr_t h;
    TEST_ASSERT_OK(actors__hdr_parse(buf, ACTORS_WIRE_HDR_MIN, &h));
    ck_assert_uint_eq(h.cmd, ACTORS_CMD_REPLY);
}
END_TEST

START_TEST(test_wire_header_rejects_malformed)
{
    uint8_t buf[ACTORS_WIRE_HDR_MAX + 1];
    memset(buf, 0, sizeof buf);
    actors__hdr_t h;
    size_t n = actors__hdr_write(buf, ACTORS_CMD_PING, 0, NULL, 0);
    TEST_ASSERT_ERR(actors__hdr_parse(NULL, 0, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, 3, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n - 1, &h), ACTORS_EBADREQ);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, sizeof buf, &h), ACTORS_EBADREQ);
    memcpy(buf, "ACT2", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EVERSION);
    memcpy(buf, "XCT1", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
    memcpy(buf, "GET ", 4);
    TEST_ASSERT_ERR(actors__hdr_parse(buf, n, &h), ACTORS_EBADREQ);
}
END_TEST

START_TEST(test_wire_be32)
{
    uint8_t b[4];
    actors__put_be32(b, 0xdeadbeefu);
    ck_assert_uint_eq(b[0], 0xde);
    ck_assert_uint_eq(b[3], 0xef);
    ck_assert_uint_eq(actors__be32(b), 0xdeadbeefu);
}
END_TEST

START_TEST(test_wire_error_body_roundtrip)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_EAPP, "ValueError",
        "Can not deposit negative amount", "account/1"));
    ck_assert_uint_eq(actors_msg_count(m), 1);
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(
        actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EAPP);
    ck_assert_str_eq(actors_error_type(e), "ValueError");
    ck_assert_str_eq(
        actors_error_message(e), "Can not deposit negative amount");
    ck_assert_str_eq(actors_error_address(e), "account/1");
    actors_error_destroy(&e);

    /* Defaults: the code's wire name and text, empty address. */
    actors_msg_reset(m);
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_ENOACTOR, NULL, NULL, NULL));
    TEST_ASSERT_OK(
        actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_ENOACTOR);
    ck_assert_str_eq(actors_error_type(e), "NoSuchActor");
    ck_assert_str_eq(actors_error_message(e), actors_strerror(ACTORS_ENOACTOR));
    ck_assert_str_eq(actors_error_address(e), "");
    actors_error_destroy(&e);
    actors_msg_destroy(&m);
}
END_TEST

START_TEST(test_wire_error_parse_bad_body)
{
    actors_error_t *e = NULL;
    TEST_ASSERT_OK(actors__error_parse("\xc1", 1, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EMSGPACK);
    ck_assert_str_eq(actors_error_type(e), "BadMsgpack");
    actors_error_destroy(&e);
    TEST_ASSERT_OK(actors__error_parse(NULL, 0, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EMSGPACK);
    actors_error_destroy(&e);
    /* A map without "type" is an application error of no known type. */
    TEST_ASSERT_OK(actors__error_parse("\x80", 1, &e));
    ck_assert_int_eq(actors_error_code(e), ACTORS_EAPP);
    ck_assert_str_eq(actors_error_type(e), "ActorError");
    actors_error_destroy(&e);
}
END_TEST

START_TEST(test_wire_error_parse_survives_oom)
{
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors__error_body(m, ACTORS_EFULL, NULL, "full", "a/1"));
    for (unsigned n = 1;; n++) {
        actors_error_t *e = NULL;
        actors__alloc_fail_after(n);
        actors_err rc =
            actors__error_parse(actors_msg_data(m), actors_msg_size(m), &e);
        actors__alloc_fail_after(0);
        if (rc == ACTORS_OK) {
            ck_assert_int_eq(actors_error_code(e), ACTORS_EFULL);
            actors_error_destroy(&e);
            break;
        }
        TEST_ASSERT_ERR(rc, ACTORS_ENOMEM);
        ck_assert_ptr_null(e);
    }
    actors_msg_destroy(&m);
}
END_TEST

Suite *wire_suite(void);

Suite *
wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_wire_header_roundtrip);
    tcase_add_test(tc, test_wire_header_rejects_malformed);
    tcase_add_test(tc, test_wire_be32);
    tcase_add_test(tc, test_wire_error_body_roundtrip);
    tcase_add_test(tc, test_wire_error_parse_bad_body);
    tcase_add_test(tc, test_wire_error_parse_survives_oom);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
