/* libactors/src/callwin.c - the window of remembered call keys
 * (callwin.h).
 * SPDX-License-Identifier: MIT
 */
#include "callwin.h"

#include <string.h>

#include <actors-internal/alloc.h>

static void
s_entry_free(actors__callwin_entry_t *e)
{
    actors__free(e->id);
    actors__free(e->res);
    memset(e, 0, sizeof *e);
}

actors_err
actors__callwin_init(actors__callwin_t *w, uint32_t cap)
{
    memset(w, 0, sizeof *w);
    if (cap > 0) {
        w->e = actors__zalloc(sizeof *w->e * cap);
        if (w->e == NULL) {
            return ACTORS_ENOMEM;
        }
    }
    w->cap = cap;
    return ACTORS_OK;
}

void
actors__callwin_clear(actors__callwin_t *w)
{
    for (uint32_t i = 0; w->e != NULL && i < w->cap; i++) {
        s_entry_free(&w->e[i]);
    }
    w->len = 0;
    w->head = 0;
}

void
actors__callwin_fini(actors__callwin_t *w)
{
    actors__callwin_clear(w);
    actors__free(w->e);
    memset(w, 0, sizeof *w);
}

actors_err
actors__callwin_add(actors__callwin_t *w, const void *id, size_t id_len,
    const void *res, size_t res_len)
{
    if (w->cap == 0) {
        return ACTORS_OK;
    }
    actors__callwin_entry_t e = {0};
    e.id = actors__malloc(id_len ? id_len : 1);
    e.res = actors__malloc(res_len ? res_len : 1);
    if (e.id == NULL || e.res == NULL) {
        s_entry_free(&e);
        return ACTORS_ENOMEM;
    }
    memcpy(e.id, id, id_len);
    e.id_len = id_len;
    memcpy(e.res, res, res_len);
    e.res_len = res_len;
    if (w->len == w->cap) {
        s_entry_free(&w->e[w->head]);
        w->e[w->head] = e;
        w->head = (w->head + 1) % w->cap;
    } else {
        w->e[(w->head + w->len) % w->cap] = e;
        w->len++;
    }
    return ACTORS_OK;
}

void
actors__callwin_drop_last(actors__callwin_t *w)
{
    if (w->len > 0) {
        s_entry_free(&w->e[(w->head + w->len - 1) % w->cap]);
        w->len--;
    }
}

bool
actors__callwin_lookup(const actors__callwin_t *w, const void *id,
    size_t id_len, const void **res, size_t *res_len)
{
    /* Newest first: a re-send is most likely recent. */
    for (uint32_t i = w->len; i > 0; i--) {
        const actors__callwin_entry_t *e = &w->e[(w->head + i - 1) % w->cap];
        if (e->id_len == id_len && memcmp(e->id, id, id_len) == 0) {
            *res = e->res;
            *res_len = e->res_len;
            return true;
        }
    }
    return false;
}

actors_err
actors__callwin_pack(
    const actors__callwin_t *w, msgpack_packer *pk, msgpack_sbuffer *sb)
{
    int r = msgpack_pack_array(pk, w->len);
    for (uint32_t i = 0; r == 0 && i < w->len; i++) {
        const actors__callwin_entry_t *e = &w->e[(w->head + i) % w->cap];
        r = msgpack_pack_array(pk, 2);
        r = r != 0 ? r : msgpack_pack_bin_with_body(pk, e->id, e->id_len);
        r = r != 0 ? r : msgpack_sbuffer_write(sb, e->res, e->res_len);
    }
    return r == 0 ? ACTORS_OK : ACTORS_ENOMEM;
}

actors_err
actors__callwin_load(actors__callwin_t *w, const msgpack_object *arr)
{
    if (arr->type != MSGPACK_OBJECT_ARRAY) {
        return ACTORS_EMSGPACK;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    actors_err rc = ACTORS_OK;
    for (uint32_t i = 0; rc == ACTORS_OK && i < arr->via.array.size; i++) {
        const msgpack_object *e = &arr->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
            e->via.array.ptr[0].type != MSGPACK_OBJECT_BIN) {
            rc = ACTORS_EMSGPACK;
            break;
        }
        sb.size = 0;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (msgpack_pack_object(&pk, e->via.array.ptr[1]) != 0) {
            rc = ACTORS_ENOMEM;
            break;
        }
        const msgpack_object_bin *id = &e->via.array.ptr[0].via.bin;
        rc = actors__callwin_add(w, id->ptr, id->size, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}
