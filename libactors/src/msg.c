/* libactors/src/msg.c - msgpack values: the builder and the readers.
 * SPDX-License-Identifier: MIT
 *
 * A builder is a growing byte buffer written by a msgpack_packer whose
 * write callback allocates through actors__realloc (so the OOM tests reach
 * it). The buffer starts with ACTORS__MSG_HEAD bytes of headroom: the array
 * header of a call's arguments is written there when the frame is made
 * (msg_internal.h), so arguments are never moved to prepend it.
 *
 * count is the number of top-level values. Containers announced by
 * add_array/add_map push the number of items they still owe on a small
 * stack; every value added while the stack is not empty pays one item of
 * the innermost container instead of counting at top level, and a container
 * that has all its items is popped.
 * begin_array/begin_map push a growing container instead: a 5-byte
 * placeholder header whose count goes up with each item, rewritten in its
 * shortest form (and the items moved back over the spare bytes) by
 * actors_msg_end.
 *
 * Every adder leaves the builder as it was when it fails: the stack is grown
 * before anything is written, and a failed write rolls size back.
 *
 * A buffer is allocated with a small header in front of it (s_buf_t: its
 * capacity and where it goes home). A large value's buffer is lent to
 * libzmq as the frame itself (actors__msg_frame); when libzmq is done with
 * it, on its I/O thread, s_give_back puts it in its builder's return slot
 * (s_home_t), and the builder's next large value is written into it
 * instead of a new allocation. So a builder reused for value after value
 * (an actor's result) sends each without a copy and without a malloc, and
 * without the page faults of fresh memory that a malloc of that size
 * brings when the allocator has given it back to the system. The slot is
 * shared with libzmq's thread, so it is an atomic pointer, and it lives
 * until both the builder and every buffer lent are gone (refs).
 */
#include <actors/msg.h>

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include <actors-internal/alloc.h>
#include "msg_internal.h"
#include <actors-internal/utf8.h>

#define ACTORS_MSG_TAG 0xac7e0002u
#define ACTORS__MSG_SPARE_MAX 4    /* builders kept per thread */
#define ACTORS__MSG_SPARE_CAP 4096 /* larger buffers are not kept */
#define ACTORS__MSG_HEAD 5         /* room for an array32 header */
#define ACTORS__MSG_MIN_CAP 120

/* Where a lent buffer goes back to: one slot, shared with libzmq's I/O
 * thread, alive while the builder or a buffer lent by it is. */
typedef struct {
    atomic_uint refs;        /* the builder's, plus one per buffer lent */
    _Atomic(uint8_t *) back; /* a buffer libzmq is done with (base), or NULL */
} s_home_t;

/* An open container: a counted one (add_array/add_map) owes n more items;
 * a growing one (begin_array/begin_map) has had n items so far and its
 * header is a 5-byte placeholder at value offset at, fixed by end. */
typedef struct {
    uint64_t n;
    size_t at;
    bool grows;
} s_open_t;

/* In front of every buffer. */
typedef struct {
    s_home_t *home; /* lent: where it goes back to (NULL: freed) */
    size_t cap;     /* bytes after the headroom */
} s_buf_t;

struct actors_msg {
    uint32_t tag;       /* ACTORS_MSG_TAG while alive */
    uint8_t *base;      /* ACTORS__MSG_HEAD bytes of headroom, then values */
    s_home_t *home;     /* return slot of lent buffers; NULL until one is */
    size_t size;        /* bytes of encoded values after the headroom */
    size_t cap;         /* bytes available after the headroom */
    size_t count;       /* top-level values */
    s_open_t *open;     /* the open containers, innermost last */
    size_t depth;       /* open containers */
    size_t open_cap;    /* slots in open */
    msgpack_packer pk;  /* writes through s_write */
    actors_msg_t *next; /* thread's spare list link */
    size_t nspare;      /* on the head of a spare list: its length */
};

/* ---- buffers --------------------------------------------------------- */

static s_buf_t *
s_buf_head(uint8_t *base)
{
    return (s_buf_t *)(void *)(base - sizeof(s_buf_t));
}

/* s_buf_realloc gives base (NULL: a new one) room for cap bytes after the
 * headroom; NULL on OOM, base unchanged. */
static uint8_t *
s_buf_realloc(uint8_t *base, size_t cap)
{
    void *old = base ? (void *)s_buf_head(base) : NULL;
    s_buf_t *b = actors__realloc(old, sizeof(s_buf_t) + ACTORS__MSG_HEAD + cap);
    if (b == NULL) {
        return NULL;
    }
    b->home = NULL;
    b->cap = cap;
    return (uint8_t *)(b + 1);
}

static void
s_buf_free(uint8_t *base)
{
    if (base != NULL) {
        actors__free(s_buf_head(base));
    }
}

/* s_home_unref drops one reference; the last frees the slot and the
 * buffer in it. Thread: any. */
static void
s_home_unref(s_home_t *h)
{
    if (h != NULL && atomic_fetch_sub(&h->refs, 1) == 1) {
        s_buf_free(atomic_exchange(&h->back, NULL));
        actors__free(h);
    }
}

/* s_give_back is libzmq's free function for a lent buffer (hint is its
 * base): into its builder's slot if that is empty, else freed. Thread:
 * libzmq's I/O thread, or whichever closes the frame. */
static void
s_give_back(void *data, void *hint)
{
    (void)data;
    uint8_t *base = hint;
    s_home_t *h = s_buf_head(base)->home;
    uint8_t *empty = NULL;
    if (h == NULL || !atomic_compare_exchange_strong(&h->back, &empty, base)) {
        s_buf_free(base);
    }
    s_home_unref(h);
}

/* s_take_back returns the buffer that came back to self if it has room
 * for cap bytes (else frees it), or NULL. */
static uint8_t *
s_take_back(actors_msg_t *self, size_t cap)
{
    if (self->home == NULL) {
        return NULL;
    }
    uint8_t *b = atomic_exchange(&self->home->back, NULL);
    if (b != NULL && s_buf_head(b)->cap < cap) {
        s_buf_free(b);
        b = NULL;
    }
    return b;
}

/* s_msg_free frees a builder that is not kept. */
static void
s_msg_free(actors_msg_t *m)
{
    s_home_unref(m->home);
    s_buf_free(m->base);
    actors__free(m->open);
    actors__free(m);
}

/* Destroyed builders are kept (a few per thread, with their buffers) for
 * the next actors_msg_create: a call's arguments then cost no allocation.
 * The list hangs off a pthread key whose destructor frees it when the
 * thread ends. */
static pthread_key_t s_spare_key;
static bool s_spare_ok;
static pthread_once_t s_spare_once = PTHREAD_ONCE_INIT;

static void
s_spare_free(void *head)
{
    actors_msg_t *m = head;
    while (m != NULL) {
        actors_msg_t *next = m->next;
        s_msg_free(m);
        m = next;
    }
}

static void
s_spare_init(void)
{
    s_spare_ok = pthread_key_create(&s_spare_key, s_spare_free) == 0;
}

/* s_spare_take returns a kept builder (fields stale) or NULL. */
static actors_msg_t *
s_spare_take(void)
{
    pthread_once(&s_spare_once, s_spare_init);
    if (!s_spare_ok) {
        return NULL;
    }
    actors_msg_t *m = pthread_getspecific(s_spare_key);
    if (m != NULL) {
        if (m->next != NULL) {
            m->next->nspare = m->nspare - 1;
        }
        pthread_setspecific(s_spare_key, m->next);
    }
    return m;
}

/* s_spare_keep keeps a dead builder; false: the caller frees it. */
static bool
s_spare_keep(actors_msg_t *m)
{
    if (!s_spare_ok || m->cap > ACTORS__MSG_SPARE_CAP) {
        return false;
    }
    actors_msg_t *head = pthread_getspecific(s_spare_key);
    size_t n = head != NULL ? head->nspare : 0;
    if (n >= ACTORS__MSG_SPARE_MAX ||
        pthread_setspecific(s_spare_key, m) != 0) {
        return false;
    }
    /* A kept builder keeps its small buffer, not the large ones it lent:
     * they go when libzmq is done with them. */
    s_home_unref(m->home);
    m->home = NULL;
    m->next = head;
    m->nspare = n + 1;
    return true;
}

/* s_write is the packer's callback: append len bytes, growing the buffer
 * (doubling) through actors__realloc. Returns 0 or -1 on OOM. */
static int
s_write(void *data, const char *buf, size_t len)
{
    actors_msg_t *self = data;
    if (self->cap - self->size < len) {
        size_t cap = self->cap ? self->cap : ACTORS__MSG_MIN_CAP;
        while (cap - self->size < len) {
            if (cap > SIZE_MAX / 2) {
                return -1;
            }
            cap *= 2;
        }
        uint8_t *base = s_take_back(self, cap);
        if (base != NULL) {
            /* A lent buffer came back big enough: no allocation. */
            if (self->base != NULL) {
                memcpy(base, self->base, ACTORS__MSG_HEAD + self->size);
                s_buf_free(self->base);
            }
            cap = s_buf_head(base)->cap;
        } else {
            base = s_buf_realloc(self->base, cap);
        }
        if (base == NULL) {
            return -1;
        }
        self->base = base;
        self->cap = cap;
    }
    memcpy(self->base + ACTORS__MSG_HEAD + self->size, buf, len);
    self->size += len;
    return 0;
}

/* s_item records that one value was added at the current level. */
static void
s_item(actors_msg_t *self)
{
    if (self->depth == 0) {
        self->count++;
        return;
    }
    s_open_t *top = &self->open[self->depth - 1];
    if (top->grows) {
        top->n++;
    } else if (--top->n == 0) {
        self->depth--;
    }
}

/* s_reserve_open makes room for one more open container. */
static actors_err
s_reserve_open(actors_msg_t *self)
{
    if (self->depth < self->open_cap) {
        return ACTORS_OK;
    }
    size_t cap = self->open_cap ? self->open_cap * 2 : 8;
    s_open_t *open = actors__realloc(self->open, cap * sizeof *open);
    if (open == NULL) {
        return ACTORS_ENOMEM;
    }
    self->open = open;
    self->open_cap = cap;
    return ACTORS_OK;
}

/* s_done finishes an adder: on success count the value, on failure roll
 * the buffer back to saved. */
static actors_err
s_done(actors_msg_t *self, int prc, size_t saved)
{
    if (prc != 0) {
        self->size = saved;
        return ACTORS_ENOMEM;
    }
    s_item(self);
    return ACTORS_OK;
}

actors_err
actors_msg_create(actors_msg_t **out)
{
    assert(out);
    *out = NULL;
    actors_msg_t *self = s_spare_take();
    if (self != NULL) {
        /* Keeps base/cap and open/open_cap; the rest starts over. */
        self->size = 0;
        self->count = 0;
        self->depth = 0;
        self->next = NULL;
        self->nspare = 0;
    } else {
        self = actors__zalloc(sizeof *self);
        if (self == NULL) {
            return ACTORS_ENOMEM;
        }
    }
    if (self->base == NULL) {
        self->base = s_buf_realloc(NULL, ACTORS__MSG_MIN_CAP);
        if (self->base == NULL) {
            s_msg_free(self);
            return ACTORS_ENOMEM;
        }
        self->cap = ACTORS__MSG_MIN_CAP;
    }
    self->tag = ACTORS_MSG_TAG;
    msgpack_packer_init(&self->pk, self, s_write);
    *out = self;
    return ACTORS_OK;
}

void
actors_msg_destroy(actors_msg_t **self_p)
{
    assert(self_p);
    actors_msg_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS_MSG_TAG);
    self->tag = 0xdeadbeef;
    *self_p = NULL;
    if (s_spare_keep(self)) {
        return;
    }
    s_msg_free(self);
}

actors_err
actors_msg_add_nil(actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    size_t saved = self->size;
    return s_done(self, msgpack_pack_nil(&self->pk), saved);
}

actors_err
actors_msg_add_bool(actors_msg_t *self, bool v)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    size_t saved = self->size;
    int prc = v ? msgpack_pack_true(&self->pk) : msgpack_pack_false(&self->pk);
    return s_done(self, prc, saved);
}

actors_err
actors_msg_add_int(actors_msg_t *self, int64_t v)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    size_t saved = self->size;
    return s_done(self, msgpack_pack_int64(&self->pk, v), saved);
}

actors_err
actors_msg_add_uint(actors_msg_t *self, uint64_t v)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    size_t saved = self->size;
    return s_done(self, msgpack_pack_uint64(&self->pk, v), saved);
}

actors_err
actors_msg_add_double(actors_msg_t *self, double v)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    size_t saved = self->size;
    return s_done(self, msgpack_pack_double(&self->pk, v), saved);
}

actors_err
actors_msg_add_str(actors_msg_t *self, const char *s)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    if (s == NULL) {
        return actors_msg_add_nil(self);
    }
    return actors_msg_add_strn(self, s, strlen(s));
}

actors_err
actors_msg_add_strn(actors_msg_t *self, const char *s, size_t len)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    assert(s || len == 0);
    if (len > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    size_t saved = self->size;
    int prc = msgpack_pack_str(&self->pk, len);
    if (prc == 0 && len > 0) {
        prc = msgpack_pack_str_body(&self->pk, s, len);
    }
    return s_done(self, prc, saved);
}

actors_err
actors__msg_add_utf8(actors_msg_t *self, const void *s, size_t len)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    assert(s || len == 0);
    size_t saved = self->size;
    actors_err rc = actors__utf8_pack_str(&self->pk, s, len);
    if (rc != ACTORS_OK) {
        self->size = saved;
        return rc;
    }
    return s_done(self, 0, saved);
}

actors_err
actors_msg_add_bin(actors_msg_t *self, const void *data, size_t len)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    assert(data || len == 0);
    if (len > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    size_t saved = self->size;
    int prc = msgpack_pack_bin(&self->pk, len);
    if (prc == 0 && len > 0) {
        prc = msgpack_pack_bin_body(&self->pk, data, len);
    }
    return s_done(self, prc, saved);
}

/* s_add_container announces a container owing items (array: n, map: 2n). */
static actors_err
s_add_container(actors_msg_t *self, bool is_map, uint32_t n)
{
    if (n > 0 && s_reserve_open(self) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    size_t saved = self->size;
    int prc = is_map ? msgpack_pack_map(&self->pk, n)
                     : msgpack_pack_array(&self->pk, n);
    actors_err rc = s_done(self, prc, saved);
    if (rc == ACTORS_OK && n > 0) {
        self->open[self->depth++] =
            (s_open_t){is_map ? 2 * (uint64_t)n : n, 0, false};
    }
    return rc;
}

/* s_begin opens a growing container: a 5-byte header (array32/map32 with
 * a zero count) that actors_msg_end rewrites to the shortest form. */
static actors_err
s_begin(actors_msg_t *self, bool is_map)
{
    if (s_reserve_open(self) != ACTORS_OK) {
        return ACTORS_ENOMEM;
    }
    const char head[5] = {(char)(is_map ? 0xdf : 0xdd), 0, 0, 0, 0};
    size_t saved = self->size;
    actors_err rc = s_done(self, s_write(self, head, sizeof head), saved);
    if (rc == ACTORS_OK) {
        self->open[self->depth++] = (s_open_t){0, saved, true};
    }
    return rc;
}

actors_err
actors_msg_begin_array(actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return s_begin(self, false);
}

actors_err
actors_msg_begin_map(actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return s_begin(self, true);
}

actors_err
actors_msg_end(actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    if (self->depth == 0 || !self->open[self->depth - 1].grows) {
        return ACTORS_EINVAL;
    }
    s_open_t *top = &self->open[self->depth - 1];
    uint8_t *h = self->base + ACTORS__MSG_HEAD + top->at;
    bool is_map = h[0] == 0xdf;
    uint64_t n = top->n;
    if (is_map && n % 2 != 0) {
        return ACTORS_EINVAL; /* a key without its value */
    }
    if (is_map) {
        n /= 2;
    }
    if (n > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    size_t hlen = n < 16 ? 1 : n <= 0xffff ? 3 : 5;
    if (hlen == 1) {
        h[0] = (uint8_t)((is_map ? 0x80 : 0x90) | n);
    } else if (hlen == 3) {
        h[0] = is_map ? 0xde : 0xdc;
        h[1] = (uint8_t)(n >> 8);
        h[2] = (uint8_t)n;
    } else {
        h[1] = (uint8_t)(n >> 24);
        h[2] = (uint8_t)(n >> 16);
        h[3] = (uint8_t)(n >> 8);
        h[4] = (uint8_t)n;
    }
    if (hlen < 5) {
        size_t items = self->size - top->at - 5;
        memmove(h + hlen, h + 5, items);
        self->size -= 5 - hlen;
    }
    self->depth--;
    return ACTORS_OK;
}

actors_err
actors_msg_add_array(actors_msg_t *self, uint32_t n)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return s_add_container(self, false, n);
}

actors_err
actors_msg_add_map(actors_msg_t *self, uint32_t n)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return s_add_container(self, true, n);
}

actors_err
actors_msg_add_object(actors_msg_t *self, const msgpack_object *obj)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    if (obj == NULL) {
        return actors_msg_add_nil(self);
    }
    size_t saved = self->size;
    return s_done(self, msgpack_pack_object(&self->pk, *obj), saved);
}

actors_err
actors_msg_add_raw(actors_msg_t *self, const void *data, size_t len)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    if (data == NULL || len == 0) {
        return ACTORS_EINVAL;
    }
    size_t saved = self->size;
    return s_done(self, s_write(self, data, len), saved);
}

size_t
actors_msg_count(const actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return self->count;
}

const void *
actors_msg_data(const actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return self->base ? self->base + ACTORS__MSG_HEAD : NULL;
}

size_t
actors_msg_size(const actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return self->size;
}

void
actors_msg_reset(actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    self->size = 0;
    self->count = 0;
    self->depth = 0;
}

bool
actors__msg_is_complete(const actors_msg_t *self)
{
    assert(self && self->tag == ACTORS_MSG_TAG);
    return self->depth == 0;
}

/* s_append_msg appends every top-level value of other. */
static actors_err
s_append_msg(actors_msg_t *self, const actors_msg_t *other)
{
    if (other == NULL) {
        return ACTORS_OK;
    }
    assert(other->tag == ACTORS_MSG_TAG);
    if (other->depth != 0) {
        return ACTORS_EINVAL;
    }
    if (other->size == 0) {
        return ACTORS_OK;
    }
    if (s_write(self, (const char *)other->base + ACTORS__MSG_HEAD,
            other->size) != 0) {
        return ACTORS_ENOMEM;
    }
    for (size_t i = 0; i < other->count; i++) {
        s_item(self);
    }
    return ACTORS_OK;
}

/* s_build adds the values of fmt from *fmt_p up to close ('\0', ']' or
 * '}'), leaving *fmt_p after close. Containers grow in place (s_begin,
 * actors_msg_end), because their size is known only at their end. */
static actors_err
s_build(actors_msg_t *self, const char **fmt_p, va_list *ap, char close)
{
    const char *p = *fmt_p;
    actors_err rc = ACTORS_OK;
    for (; rc == ACTORS_OK; p++) {
        char c = *p;
        if (c == close) {
            break;
        }
        switch (c) {
        case '\0':
        case ']':
        case '}':
            return ACTORS_EINVAL; /* unbalanced */
        case ' ':
            break;
        case 'n':
            rc = actors_msg_add_nil(self);
            break;
        case 'b':
            rc = actors_msg_add_bool(self, va_arg(*ap, int) != 0);
            break;
        case 'i':
            rc = actors_msg_add_int(self, va_arg(*ap, int));
            break;
        case 'I':
            rc = actors_msg_add_int(self, va_arg(*ap, int64_t));
            break;
        case 'u':
            rc = actors_msg_add_uint(self, va_arg(*ap, uint64_t));
            break;
        case 'd':
            rc = actors_msg_add_double(self, va_arg(*ap, double));
            break;
        case 's':
            rc = actors_msg_add_str(self, va_arg(*ap, const char *));
            break;
        case 'S': {
            const char *s = va_arg(*ap, const char *);
            size_t len = va_arg(*ap, size_t);
            rc = actors_msg_add_strn(self, s, len);
            break;
        }
        case 'B': {
            const void *d = va_arg(*ap, const void *);
            size_t len = va_arg(*ap, size_t);
            rc = actors_msg_add_bin(self, d, len);
            break;
        }
        case 'o':
            rc = actors_msg_add_object(
                self, va_arg(*ap, const msgpack_object *));
            break;
        case 'm':
            rc = s_append_msg(self, va_arg(*ap, const actors_msg_t *));
            break;
        case '[':
        case '{':
            /* A growing container, in place (no child builder to copy). */
            rc = s_begin(self, c == '{');
            if (rc == ACTORS_OK) {
                p++;
                /* Leaves p at the close, which the loop's p++ skips. */
                rc = s_build(self, &p, ap, c == '[' ? ']' : '}');
            }
            if (rc == ACTORS_OK) {
                rc = actors_msg_end(self);
            }
            break;
        default:
            return ACTORS_EINVAL;
        }
    }
    *fmt_p = p;
    return rc;
}

actors_err
actors__msg_vbuild(actors_msg_t **out, const char *fmt, va_list ap)
{
    assert(out);
    *out = NULL;
    if (fmt == NULL) {
        return ACTORS_EINVAL;
    }
    actors_msg_t *self = NULL;
    actors_err rc = actors_msg_create(&self);
    if (rc != ACTORS_OK) {
        return rc;
    }
    va_list aq;
    va_copy(aq, ap);
    const char *p = fmt;
    rc = s_build(self, &p, &aq, '\0');
    va_end(aq);
    if (rc != ACTORS_OK) {
        actors_msg_destroy(&self);
        return rc;
    }
    *out = self;
    return ACTORS_OK;
}

actors_err
actors__msg_vadd(actors_msg_t *self, const char *fmt, va_list ap)
{
    assert(self);
    if (fmt == NULL) {
        return ACTORS_EINVAL;
    }
    va_list aq;
    va_copy(aq, ap);
    const char *p = fmt;
    actors_err rc = s_build(self, &p, &aq, '\0');
    va_end(aq);
    return rc;
}

actors_err
actors_msg_build(actors_msg_t **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    actors_err rc = actors__msg_vbuild(out, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- frames for libzmq ------------------------------------------------ */

/* s_array_header writes the header of an array of n items ending just
 * before end; returns its length. */
static size_t
s_array_header(uint8_t *end, size_t n)
{
    if (n < 16) {
        end[-1] = (uint8_t)(0x90 | n);
        return 1;
    }
    if (n <= 0xffff) {
        end[-3] = 0xdc;
        end[-2] = (uint8_t)(n >> 8);
        end[-1] = (uint8_t)n;
        return 3;
    }
    end[-5] = 0xdd;
    end[-4] = (uint8_t)(n >> 24);
    end[-3] = (uint8_t)(n >> 16);
    end[-2] = (uint8_t)(n >> 8);
    end[-1] = (uint8_t)n;
    return 5;
}

actors_err
actors__msg_frame(actors_msg_t *self, bool as_array, zmq_msg_t *frame)
{
    assert(frame);
    assert(self == NULL || self->tag == ACTORS_MSG_TAG);
    if (self == NULL || self->base == NULL) {
        if (zmq_msg_init_size(frame, as_array ? 1 : 0) != 0) {
            return ACTORS_ENOMEM;
        }
        if (as_array) {
            *(uint8_t *)zmq_msg_data(frame) = 0x90;
        }
        return ACTORS_OK;
    }
    if (self->depth != 0) {
        return ACTORS_EINVAL;
    }
    if (as_array && self->count > UINT32_MAX) {
        return ACTORS_ETOOBIG;
    }
    uint8_t *values = self->base + ACTORS__MSG_HEAD;
    size_t hlen = as_array ? s_array_header(values, self->count) : 0;
    uint8_t *start = values - hlen;
    size_t len = hlen + self->size;
    if (len >= ACTORS__MSG_STEAL_MIN) {
        if (self->home == NULL) {
            /* No slot (OOM): the buffer is lent all the same, and freed
             * when libzmq is done with it. */
            self->home = actors__zalloc(sizeof *self->home);
            if (self->home != NULL) {
                atomic_init(&self->home->refs, 1);
                atomic_init(&self->home->back, NULL);
            }
        }
        s_buf_t *b = s_buf_head(self->base);
        b->home = self->home;
        if (b->home != NULL) {
            atomic_fetch_add(&b->home->refs, 1);
        }
        if (zmq_msg_init_data(frame, start, len, s_give_back, self->base) !=
            0) {
            s_home_unref(b->home);
            b->home = NULL;
            return ACTORS_ENOMEM;
        }
        /* The buffer is libzmq's now; the builder starts over, empty, and
         * gets it back for a later value (s_give_back). */
        self->base = NULL;
        self->cap = 0;
        actors_msg_reset(self);
        return ACTORS_OK;
    }
    if (zmq_msg_init_size(frame, len) != 0) {
        return ACTORS_ENOMEM;
    }
    memcpy(zmq_msg_data(frame), start, len);
    return ACTORS_OK;
}

/* ---- reading ---------------------------------------------------------- */

actors_err
actors_value_int(const msgpack_object *obj, int64_t *out)
{
    assert(out);
    if (obj == NULL) {
        return ACTORS_EARGS;
    }
    switch (obj->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (obj->via.u64 > (uint64_t)INT64_MAX) {
            return ACTORS_EARGS;
        }
        *out = (int64_t)obj->via.u64;
        return ACTORS_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = obj->via.i64;
        return ACTORS_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        double d = obj->via.f64;
        /* 2^63 is exactly representable; anything below it fits. */
        if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
            d >= 9223372036854775808.0) {
            return ACTORS_EARGS;
        }
        *out = (int64_t)d;
        return ACTORS_OK;
    }
    default:
        return ACTORS_EARGS;
    }
}

actors_err
actors_value_double(const msgpack_object *obj, double *out)
{
    assert(out);
    if (obj == NULL) {
        return ACTORS_EARGS;
    }
    switch (obj->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)obj->via.u64;
        return ACTORS_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)obj->via.i64;
        return ACTORS_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = obj->via.f64;
        return ACTORS_OK;
    default:
        return ACTORS_EARGS;
    }
}

actors_err
actors_value_bool(const msgpack_object *obj, bool *out)
{
    assert(out);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_BOOLEAN) {
        return ACTORS_EARGS;
    }
    *out = obj->via.boolean;
    return ACTORS_OK;
}

actors_err
actors_value_str(const msgpack_object *obj, const char **ptr, size_t *len)
{
    assert(ptr && len);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_STR) {
        return ACTORS_EARGS;
    }
    *ptr = obj->via.str.ptr;
    *len = obj->via.str.size;
    return ACTORS_OK;
}

actors_err
actors_value_strdup(const msgpack_object *obj, char **out)
{
    assert(out);
    const char *p = NULL;
    size_t n = 0;
    actors_err rc = actors_value_str(obj, &p, &n);
    if (rc != ACTORS_OK) {
        return rc;
    }
    char *s = actors__strndup(n ? p : "", n);
    if (s == NULL) {
        return ACTORS_ENOMEM;
    }
    *out = s;
    return ACTORS_OK;
}

size_t
actors_args_count(const msgpack_object *args)
{
    if (args == NULL || args->type != MSGPACK_OBJECT_ARRAY) {
        return 0;
    }
    return args->via.array.size;
}

const msgpack_object *
actors_args_at(const msgpack_object *args, size_t i)
{
    if (i >= actors_args_count(args)) {
        return NULL;
    }
    return &args->via.array.ptr[i];
}

actors_err
actors_args_int(const msgpack_object *args, size_t i, int64_t *out)
{
    return actors_value_int(actors_args_at(args, i), out);
}

actors_err
actors_args_double(const msgpack_object *args, size_t i, double *out)
{
    return actors_value_double(actors_args_at(args, i), out);
}

actors_err
actors_args_bool(const msgpack_object *args, size_t i, bool *out)
{
    return actors_value_bool(actors_args_at(args, i), out);
}

actors_err
actors_args_str(
    const msgpack_object *args, size_t i, const char **ptr, size_t *len)
{
    return actors_value_str(actors_args_at(args, i), ptr, len);
}

const msgpack_object *
actors_map_get(const msgpack_object *obj, const char *key)
{
    assert(key);
    if (obj == NULL || obj->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0) {
            return &obj->via.map.ptr[i].val;
        }
    }
    return NULL;
}
