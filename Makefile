# libneutrino: build, install, test, demo and benchmark.
#
#   make            build libneutrino.so and libneutrino.a
#   make install    install them with the headers, neutrino.pc and the qcc/q++ drivers
#                   (PREFIX, BINDIR, LIBDIR, INCLUDEDIR and DESTDIR are honoured separately)
#   make demo       run unmodified QNX-style servers and clients as separate processes
#   make qcc-check  build the examples with the staged qcc from a QNX-style makefile, run them
#   make test       every check of the project
#   make programs   QNX-idiom servers and clients built with -Wall and run as processes
#                   (c-tests/programs/run.sh; part of make test)
#   make bench      the benchmark suite (BENCHFLAGS=--quick: under a minute): results/bench.json,
#                   drawn as results/bench.svg (make test runs only its one-second smoke run),
#                   and, as root, the remote rows (make bench-net): results/net.json
#   make chart      redraw results/bench.svg from results/bench.json
#   make stress     SIGKILLs of clients and servers mid-call for STRESS_SECONDS (default 60),
#                   then checks nothing hung, leaked, got lost or duplicated (stress/README.md);
#                   make stress-short is its 10 s form, part of make test

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=
VERSION    := 0.1.0
SOVERSION  := 0
CARGO      ?= cargo
CC         ?= cc

BUILD   := $(CURDIR)/build
STAGE   := $(BUILD)/stage
RELEASE := target/release
NET_TARGET := target/net
PKGENV  := PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig LD_LIBRARY_PATH=$(STAGE)/lib PATH=$(STAGE)/bin:$$PATH NETPROBE=$(CURDIR)/$(NET_TARGET)/release/netprobe

.PHONY: all lib net install stage demo test lint bench-net unit check-headers headers-compile \
        check-install qcc-check c-tests c-tests-nospin c-tests-asan programs bench bench-build bench-chart chart \
        bench-smoke stress stress-short \
        adversarial \
        clang deps clean

all: lib

lib:
	$(CARGO) build --release

# The node's network gateway (net/, a package of the workspace: the library never links
# the network engine), and netprobe (not installed: net/bench's probe, and test_net's
# hostile peer, found through $NETPROBE). Its own target directory: built alongside Zenoh,
# the library's build script resolves to another variant, and two variants of a cdylib share
# one file name, so one directory would rebuild the library and relink the gateway at every
# alternation of `lib` and `net`.
net:
	CARGO_TARGET_DIR=$(NET_TARGET) $(CARGO) build --release -p neutrino-net --bins

install: lib net
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/neutrino/sys \
	    $(DESTDIR)$(INCLUDEDIR)/neutrino/bits/types
	install -m 755 $(RELEASE)/libneutrino.so $(DESTDIR)$(LIBDIR)/libneutrino.so.$(VERSION)
	ln -sf libneutrino.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libneutrino.so.$(SOVERSION)
	ln -sf libneutrino.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libneutrino.so
	install -m 644 $(RELEASE)/libneutrino.a $(DESTDIR)$(LIBDIR)/libneutrino.a
	install -m 644 include/*.h $(DESTDIR)$(INCLUDEDIR)/neutrino/
	install -m 644 include/sys/*.h $(DESTDIR)$(INCLUDEDIR)/neutrino/sys/
	install -m 644 include/bits/types/*.h $(DESTDIR)$(INCLUDEDIR)/neutrino/bits/types/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    pkgconfig/neutrino.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/neutrino.pc
	install -d $(DESTDIR)$(BINDIR)
	sed -e 's|@PCDIR@|$(LIBDIR)/pkgconfig|' tools/qcc > $(DESTDIR)$(BINDIR)/qcc
	chmod 755 $(DESTDIR)$(BINDIR)/qcc
	ln -sf qcc $(DESTDIR)$(BINDIR)/q++
	install -m 755 $(RELEASE)/pidin $(DESTDIR)$(BINDIR)/pidin
	install -m 755 $(NET_TARGET)/release/neutrino-netd $(DESTDIR)$(BINDIR)/neutrino-netd

# A private installation that the C tests, the demo and the benchmarks build against,
# through pkg-config, exactly as users do.
stage:
	$(MAKE) --no-print-directory install PREFIX=$(STAGE) BINDIR=$(STAGE)/bin LIBDIR=$(STAGE)/lib \
	    INCLUDEDIR=$(STAGE)/include DESTDIR=

demo: stage
	mkdir -p $(BUILD)/demo
	for p in server client name_server name_client; do \
	    $(PKGENV) sh -c '$(CC) -Wall -Wextra -Werror -o $(BUILD)/demo/'$$p' examples/'$$p'.c $$(pkg-config --cflags --libs neutrino)' || exit 1; \
	done
	$(PKGENV) bash examples/demo.sh $(BUILD)/demo
	$(PKGENV) sh -c '$(CC) -Wall -Wextra -Werror -o $(BUILD)/demo/metronome c-tests/programs/metronome.c $$(pkg-config --cflags --libs neutrino)'
	$(PKGENV) bash examples/metronome.sh $(BUILD)/demo
	$(PKGENV) bash examples/net-demo.sh $(BUILD)/demo

BENCH_SRC := $(filter-out bench/timer_lateness.c,$(wildcard bench/*.c))

bench-build: stage
	mkdir -p $(BUILD)/bench
	$(PKGENV) sh -c '$(CC) -O2 -Wall -Wextra -Werror -o $(BUILD)/bench/bench $(BENCH_SRC) $$(pkg-config --cflags --libs neutrino) -lpthread'
	$(PKGENV) sh -c '$(CC) -O2 -Wall -Wextra -Werror -o $(BUILD)/bench/timer_lateness bench/timer_lateness.c $$(pkg-config --cflags --libs neutrino) -lpthread'

# The chart drawer (bench/chart, a Rust program of the workspace; not part of the library).
bench-chart:
	$(CARGO) build --release -p bench-chart

# A run with a failed row (exit status 1) is drawn too: the chart lists what did not run.
bench: bench-build bench-chart
	$(PKGENV) $(BUILD)/bench/bench --json results/bench.json $(BENCHFLAGS); s=$$?; \
	    if [ $$s -le 1 ]; then $(RELEASE)/bench-chart results/bench.json results/bench.svg || s=1; fi; \
	    $(PKGENV) $(BUILD)/bench/timer_lateness --json results/timer.json $(BENCHFLAGS) || s=1; \
	    $(MAKE) --no-print-directory bench-net || s=1; \
	    exit $$s

# Remote round trips through two gateways next to TCP over one veth link (needs root for the
# network namespaces; says why it skips otherwise).
bench-net: stage
	bash net/bench/run.sh $(STAGE) $(CURDIR)/$(NET_TARGET)/release/netprobe results/net.json

chart: bench-chart
	$(RELEASE)/bench-chart results/bench.json results/bench.svg

# Every row once, briefly, with no target asserted: the suite builds and runs, and its
# chart shows every row that ran (the check reads the SVG back).
bench-smoke: bench-build bench-chart
	$(PKGENV) $(BUILD)/bench/bench --smoke --json $(BUILD)/bench/smoke.json
	$(RELEASE)/bench-chart $(BUILD)/bench/smoke.json $(BUILD)/bench/smoke.svg
	$(RELEASE)/bench-chart --check $(BUILD)/bench/smoke.json $(BUILD)/bench/smoke.svg

STRESS_SECONDS ?= 60
STRESS_CFLAGS  ?= -O2

# The program bounds itself (STRESS_SECONDS + 120 s) and kills all it spawned; timeout is
# the last resort.  STRESS_CFLAGS="-O1 -fsanitize=address -fno-omit-frame-pointer" for ASan.
stress: stage
	mkdir -p $(BUILD)/stress
	$(PKGENV) sh -c '$(CC) $(STRESS_CFLAGS) -g -Wall -Wextra -Werror -o $(BUILD)/stress/stress stress/stress.c $$(pkg-config --cflags --libs neutrino) -lpthread'
	$(PKGENV) timeout -k 10 $$(($(STRESS_SECONDS) + 150)) $(BUILD)/stress/stress --seconds $(STRESS_SECONDS)

stress-short:
	$(MAKE) --no-print-directory stress STRESS_SECONDS=10

# The adversarial suite (c-tests/test_hostile_*.c) run long: `make test` runs each case for
# a second or two as part of c-tests; here every case runs HOSTILE_SECONDS.
HOSTILE_SECONDS ?= 60

adversarial: stage
	$(PKGENV) HOSTILE_SECONDS=$(HOSTILE_SECONDS) ONLY='test_hostile_*' H_TIMEOUT_S=$$((2 * $(HOSTILE_SECONDS) + 60)) \
	    H_BUDGET_S=$$((20 * $(HOSTILE_SECONDS) + 120)) TEST_TIMEOUT=$$((20 * $(HOSTILE_SECONDS) + 180)) \
	    bash c-tests/run.sh $(BUILD)/adversarial

# --- checks -------------------------------------------------------------------------------

test: lint unit check-headers headers-compile check-install qcc-check c-tests c-tests-nospin c-tests-asan programs \
      bench-smoke stress-short
	@echo "make test: all checks passed"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --release --workspace

# The generated part of the header is committed; regenerating it must change nothing.
check-headers: lib
	diff -u include/sys/neutrino_api.h target/neutrino_api.h

clang:
	@command -v clang >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq clang >/dev/null; }

# What the FUSE tests need (resource managers' paths are FUSE mounts): fusermount3, from
# Debian's fuse3, for unprivileged servers, and /dev/fuse open to every user, as udev's
# rule for it makes it (0666). Only root can do either; the tests skip what is missing.
deps:
	@if ! command -v fusermount3 >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 >/dev/null; \
	  else echo "deps: fusermount3 is missing (apt-get install fuse3 as root): unprivileged FUSE tests skip"; fi; \
	fi
	@if [ "$$(id -u)" = 0 ] && [ -c /dev/fuse ]; then chmod 0666 /dev/fuse; fi

# Every header compiles warning-free as C and C++, with gcc and clang.
headers-compile: stage clang
	mkdir -p $(BUILD)/headers
	for cc in gcc clang; do \
	  for std in gnu11 gnu17; do \
	    $(PKGENV) sh -c "$$cc -std=$$std -Wall -Wextra -Werror -pedantic-errors -fsyntax-only -x c c-tests/headers.inc \$$(pkg-config --cflags neutrino)" || exit 1; \
	  done; \
	done
	for cxx in g++ clang++; do \
	  $(PKGENV) sh -c "$$cxx -std=gnu++17 -Wall -Wextra -Werror -fsyntax-only -x c++ c-tests/headers.inc \$$(pkg-config --cflags neutrino)" || exit 1; \
	done
	@echo "headers: compiled with gcc, clang, g++ and clang++"

# PREFIX, LIBDIR, INCLUDEDIR and DESTDIR are honoured separately.
check-install: lib net
	rm -rf $(BUILD)/destdir
	$(MAKE) --no-print-directory install DESTDIR=$(BUILD)/destdir PREFIX=/opt/nto \
	    BINDIR=/opt/nto/tools LIBDIR=/opt/nto/lib64 INCLUDEDIR=/opt/nto/inc
	test -f $(BUILD)/destdir/opt/nto/lib64/libneutrino.so.$(VERSION)
	test -L $(BUILD)/destdir/opt/nto/lib64/libneutrino.so
	test -f $(BUILD)/destdir/opt/nto/lib64/libneutrino.a
	test -f $(BUILD)/destdir/opt/nto/inc/neutrino/sys/neutrino.h
	grep -q '^libdir=/opt/nto/lib64$$' $(BUILD)/destdir/opt/nto/lib64/pkgconfig/neutrino.pc
	grep -q '^includedir=/opt/nto/inc$$' $(BUILD)/destdir/opt/nto/lib64/pkgconfig/neutrino.pc
	test -x $(BUILD)/destdir/opt/nto/tools/qcc
	test "$$(readlink $(BUILD)/destdir/opt/nto/tools/q++)" = qcc
	test -x $(BUILD)/destdir/opt/nto/tools/pidin
	test -x $(BUILD)/destdir/opt/nto/tools/neutrino-netd
	grep -q "^pcdir='/opt/nto/lib64/pkgconfig'$$" $(BUILD)/destdir/opt/nto/tools/qcc
	readelf -d $(RELEASE)/libneutrino.so | grep -q 'SONAME.*libneutrino.so.$(SOVERSION)'
	@! nm -D --defined-only $(RELEASE)/libneutrino.so | awk '{sub(/@.*/, "", $$3); print $$3}' | grep -vE '^((Channel|Connect|Msg|Timer|Clock|Sched)|timer_timeout$$|delay$$|ionotify$$|spawn(l|le|lp|lpe|v|ve|vp|vpe)$$|__libneutrino_)|^(getprio|setprio|procmgr_daemon|procmgr_ability|procmgr_event_notify)$$|^name_(attach|detach|open|close)$$|^netmgr_(strtond|ndtostr|remote_nd)$$|^dispatch_(create|create_channel|destroy|context_alloc|context_free|block|unblock|handler|timeout)$$|^(iofunc_|resmgr_)|^(secpol_resmgr_attach|message_(attach|detach|connect)|pulse_(attach|detach)|select_(attach|detach)|thread_pool_(create|start|destroy)|devctlv?|posix_devctl|_devctl)$$|^(shm_(create|create_subrange|open|delete)_handle|shm_open_handle_pid|shm_revoke|shm_ctl|shm_ctl_special|mmap_handle(_pid)?)$$|^(sigaction|signal|bsd_signal|ssignal|sysv_signal|__sysv_signal|sigset)$$' | grep -v '^NEUTRINO_0$$' | grep .
	@echo "install: layout, soname and exported symbols as expected"

# QNX's driver options through the staged qcc/q++ (tools/qcc-test.sh), then the examples
# built by a QNX-style makefile (examples/qnx-make) and run as `make demo` runs them.
qcc-check: stage
	PATH=$(STAGE)/bin:$$PATH LD_LIBRARY_PATH=$(STAGE)/lib sh tools/qcc-test.sh $(BUILD)/qcc-test
	PATH=$(STAGE)/bin:$$PATH $(MAKE) --no-print-directory -C examples/qnx-make OUT=$(BUILD)/qnx-make
	LD_LIBRARY_PATH=$(STAGE)/lib timeout -k 5 10 $(BUILD)/qnx-make/channel_cxx
	LD_LIBRARY_PATH=$(STAGE)/lib bash examples/demo.sh $(BUILD)/qnx-make

c-tests: stage deps
	$(PKGENV) bash c-tests/run.sh $(BUILD)/c-tests

# The same with spinning off: every rule must hold whichever way a caller waits.
c-tests-nospin: stage deps
	$(PKGENV) NEUTRINO_SPIN_US=0 bash c-tests/run.sh $(BUILD)/c-tests-nospin

c-tests-asan: stage deps
	$(PKGENV) bash c-tests/run.sh $(BUILD)/c-tests-asan -fsanitize=address -fno-omit-frame-pointer

# QNX-style servers and clients built as their authors build them (-Wall, warnings and
# all) and run as separate processes: c-tests/programs/run.sh.
programs: stage deps
	$(PKGENV) bash c-tests/programs/run.sh $(BUILD)/programs

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
