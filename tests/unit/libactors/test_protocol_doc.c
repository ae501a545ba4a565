/* tests/unit/libactors/test_protocol_doc.c - schemas/PROTOCOL.md lists the
 * error types of ACTORS_ERRORS, exactly and in order.
 * SPDX-License-Identifier: MIT
 *
 * The document is found under $ACTORS_SRCDIR (scripts/run-tests.sh sets
 * it; default "."). Its error table is the Markdown table whose header
 * row starts with the columns "type" and "meaning"; the first cell of each
 * row (backticks allowed) is a wire name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include <actors/error.h>

#include "../../testutil.h"

#define DOC_MAX_ROWS 64

static const char *const s_wire_names[] = {
#define XX(code, name, text) name,
    ACTORS_ERRORS(XX)
#undef XX
};
#define WIRE_COUNT (sizeof s_wire_names / sizeof s_wire_names[0])

/* s_cell copies the n-th cell (0-based) of a table row into buf, trimmed
 * of spaces and backticks. Returns false if the row has no such cell. */
static bool
s_cell(const char *line, int n, char *buf, size_t cap)
{
    const char *p = line;
    while (*p == ' ') {
        p++;
    }
    if (*p != '|') {
        return false;
    }
    p++;
    for (int i = 0; i < n; i++) {
        p = strchr(p, '|');
        if (p == NULL) {
            return false;
        }
        p++;
    }
    const char *end = strchr(p, '|');
    if (end == NULL) {
        return false;
    }
    while (p < end && (isspace((unsigned char)*p) || *p == '`')) {
        p++;
    }
    while (end > p && (isspace((unsigned char)end[-1]) || end[-1] == '`')) {
        end--;
    }
    size_t len = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return true;
}

static bool
s_is_header(const char *line)
{
    char a[64];
    char b[64];
    return s_cell(line, 0, a, sizeof a) && s_cell(line, 1, b, sizeof b) &&
           strcasecmp(a, "type") == 0 && strcasecmp(b, "meaning") == 0;
}

/* s_read_table reads the wire names of the error table of path into
 * names (each malloc'ed). Returns the row count, or -1 if the file or the
 * table is missing. */
static int
s_read_table(const char *path, char **names, int max)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[1024];
    int state = 0; /* 0: before the header, 1: at the rule, 2: rows */
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (state == 0) {
            if (s_is_header(line)) {
                state = 1;
            }
            continue;
        }
        char cell[128];
        if (!s_cell(line, 0, cell, sizeof cell)) {
            if (state == 2) {
                break; /* the table ended */
            }
            continue;
        }
        if (state == 1) {
            state = 2; /* the |---|---| rule */
            continue;
        }
        if (n < max) {
            names[n++] = strdup(cell);
        }
    }
    fclose(f);
    return state == 0 ? -1 : n;
}

START_TEST(test_protocol_doc_error_table_matches)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/schemas/PROTOCOL.md", testutil_srcdir());
    char *names[DOC_MAX_ROWS] = {NULL};
    int n = s_read_table(path, names, DOC_MAX_ROWS);
    ck_assert_msg(n >= 0,
        "%s: missing, or no table with header '| type | meaning |'", path);
    for (size_t i = 0; i < WIRE_COUNT || (int)i < n; i++) {
        const char *doc = (int)i < n ? names[i] : "(none)";
        const char *code = i < WIRE_COUNT ? s_wire_names[i] : "(none)";
        ck_assert_msg(strcmp(doc, code) == 0,
            "%s: error table row %zu is '%s', ACTORS_ERRORS has '%s'", path,
            i + 1, doc, code);
    }
    ck_assert_int_eq(n, (int)WIRE_COUNT);
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
}
END_TEST

/* The wire names themselves are distinct and name themselves back. */
START_TEST(test_protocol_doc_names_round_trip)
{
    for (size_t i = 0; i < WIRE_COUNT; i++) {
        actors_err rc =
            actors_err_from_name(s_wire_names[i], strlen(s_wire_names[i]));
        ck_assert_str_eq(actors_err_name(rc), s_wire_names[i]);
        for (size_t j = i + 1; j < WIRE_COUNT; j++) {
            ck_assert_str_ne(s_wire_names[i], s_wire_names[j]);
        }
    }
}
END_TEST

Suite *protocol_doc_suite(void);

Suite *
protocol_doc_suite(void)
{
    Suite *s = suite_create("protocol_doc");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_protocol_doc_error_table_matches);
    tcase_add_test(tc, test_protocol_doc_names_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(protocol_doc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
