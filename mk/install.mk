# mk/install.mk - make install / make uninstall, included by the Makefile.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=/staging]
#   make uninstall [PREFIX=/usr/local] [DESTDIR=/staging]
#
# Installs, under $(DESTDIR)$(PREFIX):
#   lib/libactors.so.X.Y.Z (SONAME libactors.so.X), the symlinks
#       libactors.so.X and libactors.so, and lib/libactors.a
#   include/actors/*.h                every public header (by pattern)
#   lib/pkgconfig/actors.pc           from libactors/actors.pc.in
#   bin/actors-broker bin/actors-supervisor bin/actorctl
#   share/man/man1/*.1                from man/*.1
# The example services (account, counter, ...) are not installed: they
# are examples; a service of your own is built against the installed
# library (examples/, docs/WRITING-A-SERVICE.md).

PREFIX      ?= /usr/local
DESTDIR     ?=
bindir      ?= $(PREFIX)/bin
libdir      ?= $(PREFIX)/lib
includedir  ?= $(PREFIX)/include
mandir      ?= $(PREFIX)/share/man
pkgconfigdir ?= $(libdir)/pkgconfig
INSTALL     ?= install

INSTALL_HEADERS := $(wildcard libactors/include/actors/*.h)
INSTALL_MANS    := $(wildcard man/*.1)
INSTALL_BINS    := $(BROKER_BIN) $(SUPER_BIN) $(BUILD)/bin/actorctl
ACTORS_PC       := $(BUILD)/lib/pkgconfig/actors.pc

.PHONY: install uninstall

# actors.pc (from libactors/actors.pc.in) records PREFIX, so it is made
# on every install. msgpack is in Requires because msg.h includes
# <msgpack.h> (handlers read msgpack_object); the rest is private to the
# library and needed only when linking it statically (pkg-config --static).
# libdir and includedir are written relative to ${prefix} when they are
# under it, so `pkg-config --define-variable=prefix=...` relocates them.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(libdir))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(includedir))

install: $(LIB_A) $(LIB_SO) $(INSTALL_BINS)
	@mkdir -p $(dir $(ACTORS_PC))
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    libactors/actors.pc.in >$(ACTORS_PC)
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir) \
	    $(DESTDIR)$(includedir)/actors $(DESTDIR)$(pkgconfigdir) \
	    $(DESTDIR)$(mandir)/man1
	$(INSTALL) -m 755 $(INSTALL_BINS) $(DESTDIR)$(bindir)/
	$(INSTALL) -m 755 $(LIB_SO_REAL) $(DESTDIR)$(libdir)/
	ln -sf libactors.so.$(VERSION) $(DESTDIR)$(libdir)/libactors.so.$(SOMAJOR)
	ln -sf libactors.so.$(VERSION) $(DESTDIR)$(libdir)/libactors.so
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(libdir)/
	$(INSTALL) -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(includedir)/actors/
	$(INSTALL) -m 644 $(ACTORS_PC) $(DESTDIR)$(pkgconfigdir)/
	$(INSTALL) -m 644 $(INSTALL_MANS) $(DESTDIR)$(mandir)/man1/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig || true; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(bindir)/,$(notdir $(INSTALL_BINS)))
	rm -f $(DESTDIR)$(libdir)/libactors.so.$(VERSION) \
	    $(DESTDIR)$(libdir)/libactors.so.$(SOMAJOR) \
	    $(DESTDIR)$(libdir)/libactors.so $(DESTDIR)$(libdir)/libactors.a \
	    $(DESTDIR)$(pkgconfigdir)/actors.pc
	rm -f $(addprefix $(DESTDIR)$(includedir)/actors/,$(notdir $(INSTALL_HEADERS)))
	-rmdir $(DESTDIR)$(includedir)/actors 2>/dev/null
	rm -f $(addprefix $(DESTDIR)$(mandir)/man1/,$(notdir $(INSTALL_MANS)))
