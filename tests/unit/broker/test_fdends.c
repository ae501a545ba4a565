/* tests/unit/broker/test_fdends.c - telling a descriptor's connection
 * from a newer one that took its number (broker/fdends.h).
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>

#include "../../testutil.h"
#include "../../../broker/fdends.h"

/* s_listen binds a Unix stream socket at a fresh path in *addr. */
static int
s_listen(struct sockaddr_un *addr)
{
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    snprintf(addr->sun_path, sizeof addr->sun_path, "/tmp/fdends-%d.sock",
        (int)getpid());
    unlink(addr->sun_path);
    ck_assert_int_eq(bind(l, (struct sockaddr *)addr, sizeof *addr), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    return l;
}

/* s_pair connects client (a fresh socket) to l and returns the
 * accepted end. */
static int
s_pair(int l, const struct sockaddr_un *addr, const int *client)
{
    ck_assert_int_ge(*client, 0);
    ck_assert_int_eq(
        connect(*client, (const struct sockaddr *)addr, sizeof *addr), 0);
    int fd = accept(l, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* On a Unix socket (ipc://) every accepted connection has the same two
 * addresses: a descriptor number taken by a newer connection must still
 * not pass for the old one (the socket's inode differs), nor a closed
 * one for anything. */
START_TEST(test_fdends_reused_number)
{
    struct sockaddr_un addr;
    int l = s_listen(&addr);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0); /* made before fd1 frees */
    int fd1 = s_pair(l, &addr, &c1);
    brk_fdends_t e1;
    ck_assert(brk_fdends_read(fd1, &e1));
    ck_assert(brk_fdends_same(&e1));
    close(fd1);
    ck_assert(!brk_fdends_same(&e1));
    int fd2 = s_pair(l, &addr, &c2);
    ck_assert_int_eq(fd2, fd1); /* the lowest free number again */
    ck_assert(!brk_fdends_same(&e1));
    ck_assert(!brk_fdends_shutdown(&e1));
    /* The newer connection is untouched: it still carries bytes. */
    ck_assert_int_eq(write(c2, "x", 1), 1);
    char b;
    ck_assert_int_eq(read(fd2, &b, 1), 1);
    brk_fdends_t e2;
    ck_assert(brk_fdends_read(fd2, &e2));
    ck_assert(brk_fdends_shutdown(&e2));
    ck_assert_int_eq(read(c2, &b, 1), 0); /* its peer sees the end */
    ck_assert(!brk_fdends_read(-1, &e2));
    close(fd2);
    close(c1);
    close(c2);
    close(l);
    unlink(addr.sun_path);
}
END_TEST

static Suite *
fdends_suite(void)
{
    Suite *s = suite_create("fdends");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fdends_reused_number);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(fdends_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
