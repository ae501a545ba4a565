/* libactors/src/persist_file.c - the file-system backend of persist.h.
 * SPDX-License-Identifier: MIT
 *
 * Layout: ROOT/KEY/snapshot and ROOT/KEY/journal, KEY escaped so that any
 * key is one safe directory name (bytes outside [A-Za-z0-9_-], and a
 * leading '.', become %XX). The journal is opened once, O_APPEND; its size
 * is tracked so that a failed or short write is cut back off (an append is
 * all or nothing). A snapshot is replaced the crash-safe way: write
 * snapshot.tmp, fsync it, rename it over snapshot, fsync the directory.
 * Newly made directories and files are made durable by an fsync of their
 * parent directory.
 *
 * One writer per key: the handle holds an exclusive flock on ROOT/KEY for
 * its life, so a second process (a misconfigured twin, or a node that
 * comes back while the broker has re-created its actor elsewhere on the
 * same volume) cannot interleave appends or cut a journal another process
 * is writing; it gets ACTORS_ELOCKED (KeyLocked). The kernel drops the
 * lock when the holder dies, SIGKILL included. flock works across containers of
 * one host sharing a volume; NFS and similar file systems may not honour it.
 */
#define _DEFAULT_SOURCE /* flock */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <actors/log.h>

#include <actors-internal/alloc.h>
#include "persist_backend.h"

typedef struct {
    char *dir;      /* ROOT/KEY */
    int dir_fd;     /* open on dir, for fsync after rename */
    int jrn_fd;     /* ROOT/KEY/journal, O_APPEND */
    off_t jrn_size; /* bytes in the journal */
    bool torn;      /* a failed append could not be cut off yet */
} s_file_t;

/* s_io_fail logs the failed system call (errno) and maps errno to the
 * code a caller can act on: a full file system or an exhausted quota is
 * ACTORS_ENOSPACE (DiskFull: free space and call again), not ACTORS_EIO,
 * on every path (mkdir, open, write, fsync, rename). */
static actors_err
s_io_fail(const char *what, const char *path)
{
    int err = errno;
    bool full = err == ENOSPC || err == EDQUOT;
    ACTORS_LOG(ACTORS_LOG_ERR, full ? "PST-DISK-FULL" : "PST-IO",
        "op=%s path='%s' %s", what, path, strerror(err));
    if (full) {
        return ACTORS_ENOSPACE;
    }
    return err == ENOMEM ? ACTORS_ENOMEM : ACTORS_EIO;
}

static int
s_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }
    int r = fsync(fd);
    close(fd);
    return r;
}

/* s_mkdirs makes path and its missing parents; each new directory is made
 * durable in its parent. */
static actors_err
s_mkdirs(char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        return S_ISDIR(st.st_mode) ? ACTORS_OK : ACTORS_EIO;
    }
    char *slash = strrchr(path, '/');
    if (slash != NULL && slash != path) {
        *slash = '\0';
        actors_err rc = s_mkdirs(path);
        *slash = '/';
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return s_io_fail("mkdir", path);
    }
    if (slash != NULL && slash != path) {
        *slash = '\0';
        (void)s_fsync_dir(path);
        *slash = '/';
    } else if (slash == NULL) {
        (void)s_fsync_dir(".");
    }
    return ACTORS_OK;
}

static char *
s_escape(const char *root, const char *key)
{
    size_t rl = strlen(root);
    size_t kl = strlen(key);
    char *out = actors__malloc(rl + 1 + 3 * kl + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, root, rl);
    char *p = out + rl;
    *p++ = '/';
    for (size_t i = 0; i < kl; i++) {
        unsigned char c = (unsigned char)key[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                     (c == '.' && i > 0);
        if (plain) {
            *p++ = (char)c;
        } else {
            p += sprintf(p, "%%%02X", c);
        }
    }
    *p = '\0';
    return out;
}

static char *
s_path(const s_file_t *f, const char *name)
{
    size_t n = strlen(f->dir) + 1 + strlen(name) + 1;
    char *p = actors__malloc(n);
    if (p != NULL) {
        snprintf(p, n, "%s/%s", f->dir, name);
    }
    return p;
}

static void
s_close(void *be)
{
    s_file_t *f = be;
    if (f == NULL) {
        return;
    }
    if (f->jrn_fd >= 0) {
        close(f->jrn_fd);
    }
    if (f->dir_fd >= 0) {
        close(f->dir_fd);
    }
    actors__free(f->dir);
    actors__free(f);
}

static actors_err
s_open(void **out, const char *key, const actors_persist_opts_t *opts,
    bool quiet_locked)
{
    assert(out);
    assert(key);
    assert(opts && opts->dir);
    actors_err rc = ACTORS_ENOMEM;
    char *jpath = NULL;
    s_file_t *f = actors__zalloc(sizeof *f);
    if (f == NULL) {
        goto fail;
    }
    f->dir_fd = -1;
    f->jrn_fd = -1;
    f->dir = s_escape(opts->dir, key);
    jpath = f->dir != NULL ? s_path(f, "journal") : NULL;
    if (jpath == NULL) {
        goto fail;
    }
    rc = s_mkdirs(f->dir);
    if (rc != ACTORS_OK) {
        goto fail;
    }
    f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dir_fd < 0) {
        rc = s_io_fail("open", f->dir);
        goto fail;
    }
    if (flock(f->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            if (!quiet_locked) {
                ACTORS_LOG(ACTORS_LOG_WARN, "PST-LOCKED",
                    "key='%s' path='%s' the key is held by another live "
                    "process (an exclusive flock on its directory)",
                    key, f->dir);
            }
            rc = ACTORS_ELOCKED;
        } else {
            rc = s_io_fail("flock", f->dir);
        }
        goto fail;
    }
    bool existed = access(jpath, F_OK) == 0;
    f->jrn_fd = open(jpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st;
    if (f->jrn_fd < 0 || fstat(f->jrn_fd, &st) != 0) {
        rc = s_io_fail("open", jpath);
        goto fail;
    }
    f->jrn_size = st.st_size;
    if (!existed && fsync(f->dir_fd) != 0) {
        rc = s_io_fail("fsync", f->dir);
        goto fail;
    }
    actors__free(jpath);
    *out = f;
    return ACTORS_OK;
fail:
    actors__free(jpath);
    s_close(f);
    return rc;
}

/* s_read_fd reads the whole file open on fd (empty: NULL, 0). */
static actors_err
s_read_fd(int fd, const char *path, char **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return s_io_fail("fstat", path);
    }
    *data = NULL;
    *len = 0;
    if (st.st_size == 0) {
        return ACTORS_OK;
    }
    size_t n = (size_t)st.st_size;
    char *buf = actors__malloc(n);
    if (buf == NULL) {
        return ACTORS_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            actors__free(buf);
            return s_io_fail("read", path);
        }
        if (r == 0) {
            break; /* shrank meanwhile: what was read is the file */
        }
        got += (size_t)r;
    }
    *data = buf;
    *len = got;
    return ACTORS_OK;
}

static actors_err
s_snap_read(void *be, char **data, size_t *len)
{
    s_file_t *f = be;
    char *path = s_path(f, "snapshot");
    if (path == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_err rc = ACTORS_OK;
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            rc = s_io_fail("open", path);
        }
    } else {
        rc = s_read_fd(fd, path, data, len);
        close(fd);
    }
    actors__free(path);
    return rc;
}

static int
s_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t r = write(fd, data, len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (r == 0) {
                errno = ENOSPC;
            }
            return -1;
        }
        data += r;
        len -= (size_t)r;
    }
    return 0;
}

static actors_err
s_snap_write(void *be, const char *data, size_t len)
{
    s_file_t *f = be;
    actors_err rc = ACTORS_ENOMEM;
    char *tmp = s_path(f, "snapshot.tmp");
    char *path = s_path(f, "snapshot");
    int fd = -1;
    if (tmp == NULL || path == NULL) {
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = s_io_fail("open", tmp);
        goto done;
    }
    if (s_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = s_io_fail("write", tmp);
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = s_io_fail("rename", path);
        unlink(tmp);
        goto done;
    }
    if (fsync(f->dir_fd) != 0) {
        rc = s_io_fail("fsync", f->dir);
        goto done;
    }
    rc = ACTORS_OK;
done:
    if (fd >= 0) {
        close(fd);
    }
    actors__free(tmp);
    actors__free(path);
    return rc;
}

static actors_err
s_jrn_read(void *be, char **data, size_t *len)
{
    s_file_t *f = be;
    return s_read_fd(f->jrn_fd, f->dir, data, len);
}

/* s_cut cuts the journal back to the records counted in jrn_size: a
 * failed append (ENOSPC after a short write, typically) leaves part of a
 * record behind. Until that succeeds no append may follow it: O_APPEND
 * would put the next record after the fragment, and recovery, which stops
 * at the first bad record, would then drop that record too. */
static actors_err
s_cut(s_file_t *f)
{
    if (ftruncate(f->jrn_fd, f->jrn_size) != 0) {
        f->torn = true;
        actors_err rc = s_io_fail("ftruncate", f->dir);
        return rc == ACTORS_ENOSPACE ? ACTORS_EIO : rc;
    }
    f->torn = false;
    return ACTORS_OK;
}

static actors_err
s_jrn_append(void *be, const char *data, size_t len)
{
    s_file_t *f = be;
    if (f->torn) {
        actors_err rc = s_cut(f);
        if (rc != ACTORS_OK) {
            return rc;
        }
    }
    if (s_write_all(f->jrn_fd, data, len) != 0) {
        actors_err rc = s_io_fail("write", f->dir);
        /* All or nothing: cut off what part of the record made it. */
        (void)s_cut(f);
        return rc;
    }
    f->jrn_size += (off_t)len;
    return ACTORS_OK;
}

static actors_err
s_jrn_sync(void *be)
{
    s_file_t *f = be;
    if (fdatasync(f->jrn_fd) != 0) {
        return s_io_fail("fdatasync", f->dir);
    }
    return ACTORS_OK;
}

static actors_err
s_jrn_truncate(void *be, size_t len)
{
    s_file_t *f = be;
    if (ftruncate(f->jrn_fd, (off_t)len) != 0 || fdatasync(f->jrn_fd) != 0) {
        return s_io_fail("ftruncate", f->dir);
    }
    f->jrn_size = (off_t)len;
    f->torn = false;
    return ACTORS_OK;
}

static actors_err
s_remove(void *be)
{
    s_file_t *f = be;
    char *path = s_path(f, "snapshot");
    if (path == NULL) {
        return ACTORS_ENOMEM;
    }
    actors_err rc = ACTORS_OK;
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = s_io_fail("unlink", path);
    } else if (fsync(f->dir_fd) != 0) {
        rc = s_io_fail("fsync", f->dir);
    }
    actors__free(path);
    return rc == ACTORS_OK ? s_jrn_truncate(be, 0) : rc;
}

const actors__persist_ops_t actors__persist_file_ops = {
    .name = "file",
    .open = s_open,
    .close = s_close,
    .snap_read = s_snap_read,
    .snap_write = s_snap_write,
    .jrn_read = s_jrn_read,
    .jrn_append = s_jrn_append,
    .jrn_sync = s_jrn_sync,
    .jrn_truncate = s_jrn_truncate,
    .remove = s_remove,
};
