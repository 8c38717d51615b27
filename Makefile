# krbwatch — a small strict Makefile.  `make` builds ./krbwatch; `make check` runs every test,
# once on the plain build and once under AddressSanitizer + UndefinedBehaviorSanitizer.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share/krbwatch
SYSCONFDIR ?= /etc
DESTDIR  ?=
# The distribution's unit directory only for PREFIX=/usr (the packages); any other prefix keeps
# the unit under it ($(PREFIX)/lib/systemd/system: systemd reads /usr/local/lib/systemd/system).
ifeq ($(PREFIX),/usr)
UNITDIR  ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
else
UNITDIR  ?= $(PREFIX)/lib/systemd/system
endif
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
VERSION  := $(shell sed -n 's/^\#define KRBWATCH_VERSION "\(.*\)"/\1/p' lib/version.h)
# Where README.md (its Runbook section) is published: the rules' runbook_url is this + "#alert".
RUNBOOK_URL_DEFAULT := https://github.com/krbwatch/krbwatch/blob/main/README.md
RUNBOOK_URL_BASE ?= $(RUNBOOK_URL_DEFAULT)

CC       ?= cc
PKGS     := libevent libevent_openssl libcares krb5-gssapi krb5 libcurl libsystemd yaml-0.1 openssl libcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# A fresh machine: one line on how to get the libraries, not a compiler error on a header.
# Goals that install them first (or build elsewhere) are not stopped.
NODEP_GOALS := deps check demo soak bench clean deb rpm dist
ifneq ($(filter-out $(NODEP_GOALS),$(or $(MAKECMDGOALS),all)),)
ifneq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),ok)
$(error missing build dependencies ($(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))); install them as root with: make deps (or: sh tests/deps.sh))
endif
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wmissing-prototypes \
	-Wstrict-prototypes -Wmissing-declarations -Wshadow -Wpointer-arith -Wsign-compare \
	-Wwrite-strings -Wcast-qual -Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough \
	-Wold-style-definition -Wredundant-decls -Wnested-externs -Wdouble-promotion \
	-Wno-unused-parameter
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -fstack-protector-strong -fPIE $(PKG_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,--as-needed

# make SANITIZE=1: objects and binaries go to build-asan/
ifeq ($(SANITIZE),1)
BUILD := build-asan
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD := build
endif

# The daemon, floor by floor (docs/ARCHITECTURE.md), explicitly.  A new probe kind is one file
# under probes/ and a line in probes/table.c.
LIB_SRCS := \
	lib/clock.c \
	lib/json.c \
	lib/log.c \
	lib/metrics.c \
	lib/reason.c \
	lib/xmalloc.c \
	conf/config.c \
	conf/config_files.c \
	conf/config_parse.c \
	conf/config_alerts.c \
	conf/config_endpoints.c \
	conf/config_identity.c \
	conf/config_regions.c \
	conf/config_schema.c \
	conf/config_web.c \
	net/dns_answer.c \
	net/dns_client.c \
	net/dns_records.c \
	net/gss_token.c \
	net/kdc_locate.c \
	net/kdc_transport.c \
	net/krb5_env.c \
	net/krb5_reason.c \
	net/tcp_dial.c \
	net/tls_client.c \
	probes/chain.c \
	probes/chain_branch.c \
	probes/chain_endpoints.c \
	probes/dns.c \
	probes/global_writer.c \
	probes/kdc.c \
	probes/kdc_dns.c \
	probes/kdc_msg.c \
	probes/krb_stepper.c \
	probes/lockout.c \
	probes/lockout_budget.c \
	probes/lockout_store.c \
	probes/login.c \
	probes/login_gate.c \
	probes/login_mysql.c \
	probes/login_base.c \
	probes/login_mysql_auth.c \
	probes/login_pg.c \
	probes/mysql_packet.c \
	probes/pg_message.c \
	probes/probe.c \
	probes/table.c \
	daemon/alert.c \
	daemon/daemon.c \
	daemon/explain.c \
	daemon/history.c \
	daemon/http.c \
	daemon/kind_metrics.c \
	daemon/metrics_chain.c \
	daemon/metrics_endpoints.c \
	daemon/metrics_dns.c \
	daemon/metrics_kdc.c \
	daemon/notify.c \
	daemon/probe_cmd.c \
	daemon/probe_steps.c \
	daemon/process_metrics.c \
	daemon/reload_verdict.c \
	daemon/results.c \
	daemon/sched.c \
	daemon/status_json.c \
	daemon/status_model.c \
	daemon/status_page.c \
	daemon/status_source.c \
	daemon/web.c \
	daemon/webhook.c
MAIN_SRC := daemon/main.c

UNIT_TESTS := unit_metrics unit_config unit_dns_client unit_web
UNIT_TESTS += unit_json
UNIT_TESTS += unit_lockout
UNIT_TESTS += unit_probe_end
UNIT_TESTS += unit_login_gate
UNIT_TESTS += unit_endpoints
UNIT_TESTS += unit_results
UNIT_TESTS += unit_status
UNIT_TESTS += unit_probe_steps
UNIT_TESTS += unit_summary
UNIT_TESTS += unit_kdc_transport
# Test drivers: programs the shell tests run (not unit_*, so tests/run.sh does not run them).
TEST_DRIVERS := login_main login_pg_main
TEST_DRIVERS += alert_main
TEST_DRIVERS += tgs_nonce_main

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(BUILD)/%.o)
DEPS     := $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_TESTS:%=$(BUILD)/tests/%.d) \
	$(TEST_DRIVERS:%=$(BUILD)/tests/%.d)

.PHONY: all deps check install-monitoring check-plain check-asan demo soak install clean
all: krbwatch

ifeq ($(SANITIZE),1)
krbwatch: $(BUILD)/krbwatch
else
krbwatch: $(BUILD)/krbwatch
	cp $< $@.new && mv -f $@.new $@	# a rename: a running krbwatch keeps its file
endif

$(BUILD)/krbwatch: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit_%: tests/unit_%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

$(BUILD)/tests/login_main: tests/login_main.c tests/driver_util.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< tests/driver_util.c $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

$(BUILD)/tests/login_pg_main: tests/login_pg_main.c tests/driver_util.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< tests/driver_util.c $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

# the driver of tests/t_alerts.sh
$(BUILD)/tests/alert_main: tests/alert_main.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

# the driver of tests/t_chain.sh (MIT's step API alone: it links no krbwatch code)
$(BUILD)/tests/tgs_nonce_main: tests/tgs_nonce_main.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LDFLAGS) $(PKG_LIBS)

units: $(UNIT_TESTS:%=$(BUILD)/tests/%) $(TEST_DRIVERS:%=$(BUILD)/tests/%)

# the driver of bench/page.sh: the status page's size and render time at 1,000 clusters
$(BUILD)/bench/page_main: bench/page_main.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

-include $(DEPS)

# ---- fuzzing ----------------------------------------------------------------------------------
# libFuzzer targets, one tests/fuzz/fuzz_NAME.c each with its seeds in tests/fuzz/NAME/, built
# with clang into build/fuzz/.  A target that #includes a .c (to reach its static functions)
# names it in FUZZ_OMIT_NAME so that the library is linked without it.  `make fuzz` runs every
# target for FUZZ_SECONDS (new inputs go to build/fuzz/corpus/, never to the seeds) and prints
# executions and crashes per target; `make fuzz-NAME` runs one.  The same targets are also built
# with $(CC) against the ordinary objects as $(BUILD)/tests/fuzz_NAME, a replayer of the seed
# corpora, which `make check` runs (tests/t_fuzz_regress.sh) plain and under ASan+UBSan.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TIME    ?= $(FUZZ_SECONDS)
FUZZ_TARGETS := mysql_packet config dns kdc_reply http mysql_login pg_classify chain_reply
FUZZ_OMIT_mysql_packet := probes/mysql_packet.c
FUZZ_OMIT_mysql_login := probes/login_mysql.c
FUZZ_OMIT_pg_classify := probes/pg_message.c
FUZZ_OMIT_chain_reply := probes/krb_stepper.c
FUZZ_OMIT_kdc_reply := net/kdc_transport.c
FUZZ_OMIT_http := daemon/http.c
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_HDRS := $(wildcard lib/*.h conf/*.h net/*.h probes/*.h daemon/*.h)

build/fuzz/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

define FUZZ_template
build/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(filter-out $$(FUZZ_OMIT_$(1):%.c=build/fuzz/obj/%.o),\
    $$(LIB_SRCS:%.c=build/fuzz/obj/%.o)) $$(FUZZ_OMIT_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ $$< \
	    $$(filter-out $$(FUZZ_OMIT_$(1):%.c=build/fuzz/obj/%.o),$$(LIB_SRCS:%.c=build/fuzz/obj/%.o)) \
	    $$(PKG_LIBS) -lm
$(BUILD)/tests/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c \
    $$(filter-out $$(FUZZ_OMIT_$(1):%.c=$(BUILD)/%.o),$$(LIB_OBJS)) $$(FUZZ_OMIT_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(ALL_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c \
	    $$(filter-out $$(FUZZ_OMIT_$(1):%.c=$(BUILD)/%.o),$$(LIB_OBJS)) $$(LDFLAGS) $$(PKG_LIBS) -lm
fuzz-$(1): build/fuzz/fuzz_$(1)
	FUZZ_SECONDS=$$(FUZZ_TIME) sh tests/fuzz/run.sh $(1)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_template,$(t))))

.PHONY: fuzz fuzz-build fuzz-mysql $(FUZZ_TARGETS:%=fuzz-%)
units: $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz_%)
fuzz-mysql: fuzz-mysql_packet
fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)
# ---- end of fuzzing ---------------------------------------------------------------------------

# Installs the Debian packages build, tests and demo need, when any is missing.
deps:
	@sh tests/deps.sh

# Both passes, then how long the whole took (CI allows 90 minutes).
check: deps
	@start=$$(date +%s); $(MAKE) check-plain && $(MAKE) check-asan; rc=$$?; \
	s=$$(( $$(date +%s) - start )); \
	echo "== make check: both passes in $$((s / 60)) min $$((s % 60)) s (exit $$rc)"; exit $$rc

check-plain:
	$(MAKE) all units
	KW_BIN=$(CURDIR)/krbwatch KW_UNITS=$(CURDIR)/build/tests sh tests/run.sh

check-asan:
	$(MAKE) SANITIZE=1 krbwatch units
	KW_BIN=$(CURDIR)/build-asan/krbwatch KW_UNITS=$(CURDIR)/build-asan/tests KW_SANITIZED=1 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98 sh tests/run.sh

demo: deps
	$(MAKE) all
	sh tests/demo.sh

# The long runs of RELIABILITY.md; make check runs their short versions.
soak: deps
	$(MAKE) all units
	KW_BIN=$(CURDIR)/krbwatch KW_UNITS=$(CURDIR)/build/tests KW_SOAK_CYCLES=10000 \
	    KW_SOAK_RELOADS=1000 KW_SOAK_INTERVAL_MS=200 KW_SOAK_DEADLINE_MS=190 \
	    KW_TESTS=t_soak.sh sh tests/run.sh

# --- bench: krbwatch beside prometheus-blackbox-exporter and a cron-style shell probe;
# writes bench/RESULTS.md.  Its packages are in bench/deps.sh, not in `make check`'s deps.
.PHONY: bench
bench: deps
	@sh bench/deps.sh
	$(MAKE) all
	bash bench/run.sh
# --- end bench

# The alerting rules (with RUNBOOK_URL_BASE in every runbook_url), their promtool tests and the
# dashboard, into $(DATADIR) (/usr/share/krbwatch for the packages).
install-monitoring:
	install -d $(DESTDIR)$(DATADIR)
	sed 's|"$(RUNBOOK_URL_DEFAULT)#|"$(RUNBOOK_URL_BASE)#|' monitoring/krbwatch.rules.yml \
	    >$(DESTDIR)$(DATADIR)/krbwatch.rules.yml
	sed 's|"$(RUNBOOK_URL_DEFAULT)#|"$(RUNBOOK_URL_BASE)#|' monitoring/krbwatch.rules.test.yml \
	    >$(DESTDIR)$(DATADIR)/krbwatch.rules.test.yml
	chmod 644 $(DESTDIR)$(DATADIR)/krbwatch.rules.yml $(DESTDIR)$(DATADIR)/krbwatch.rules.test.yml
	install -m 644 monitoring/krbwatch-dashboard.json $(DESTDIR)$(DATADIR)/krbwatch-dashboard.json

# Files only: the user, group and /etc/krbwatch's owner are set up by the packages' scripts, or
# by hand after a source install (README, "Install").  The example configuration never
# overwrites a real one; the packages install it as krbwatch.yml.
install: krbwatch install-monitoring
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DATADIR) \
	    $(DESTDIR)$(SYSCONFDIR)/krbwatch
	install -m 755 krbwatch $(DESTDIR)$(BINDIR)/krbwatch
	install -m 644 man/krbwatch.8 $(DESTDIR)$(MANDIR)/man8/krbwatch.8
	install -m 644 man/krbwatch.yml.5 $(DESTDIR)$(MANDIR)/man5/krbwatch.yml.5
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/krbwatch.service \
	    >$(DESTDIR)$(UNITDIR)/krbwatch.service
	chmod 644 $(DESTDIR)$(UNITDIR)/krbwatch.service
	install -m 644 systemd/krbwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/krbwatch.conf
	install -m 644 conf/krbwatch.yml $(DESTDIR)$(SYSCONFDIR)/krbwatch/krbwatch.yml.example

# ---- packages ---------------------------------------------------------------------------------
# make deb: the Debian package, built by dpkg-buildpackage in a copy of this tree under
# build/deb/ (dpkg-buildpackage writes beside the source, and the tree's own build/ stays out);
# the .deb, .buildinfo and .changes land in build/deb/.  make rpm: the RPM from a tarball of the
# same copy, into build/rpm/RPMS/; on Debian the build dependencies are Debian packages that
# rpm cannot see, so rpmbuild runs with --nodeps there (RPM_FLAGS=).
.PHONY: deb rpm dist
DIST := build/dist/krbwatch-$(VERSION)
dist:
	rm -rf build/dist && mkdir -p $(DIST)
	tar -cf - --exclude=./build --exclude=./build-asan --exclude=./.git --exclude=./krbwatch \
	    --exclude=__pycache__ . | tar -xf - -C $(DIST)
	tar -czf build/dist/krbwatch-$(VERSION).tar.gz -C build/dist krbwatch-$(VERSION)

deb: dist
	rm -rf build/deb && mkdir -p build/deb
	mv $(DIST) build/deb/
	cd build/deb/krbwatch-$(VERSION) && dpkg-buildpackage -us -uc -b
	rm -rf build/deb/krbwatch-$(VERSION)
	@ls build/deb/*.deb

RPM_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps)
rpm: dist
	rm -rf build/rpm && mkdir -p build/rpm/SOURCES
	cp build/dist/krbwatch-$(VERSION).tar.gz build/rpm/SOURCES/
	rpmbuild -bb $(RPM_FLAGS) --define "_topdir $(CURDIR)/build/rpm" krbwatch.spec
	@ls build/rpm/RPMS/*/*.rpm
# ---- end of packages --------------------------------------------------------------------------

clean:
	rm -rf build build-asan krbwatch
