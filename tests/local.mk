# Test suite: owned by tests/. Appended to the top-level Makefile.am.

# Fixtures: small programs that each do one thing under the tracer.
check_PROGRAMS += \
	tests/fixtures/fileops \
	tests/fixtures/threads8 \
	tests/fixtures/exec_thread \
	tests/fixtures/vfork_exec \
	tests/fixtures/sigstop_self \
	tests/fixtures/sigstate \
	tests/fixtures/sigtimer \
	tests/fixtures/unseen_opens \
	tests/fixtures/own_seccomp \
	tests/fixtures/clone3_child \
	tests/fixtures/spawn \
	tests/fixtures/forkburst \
	tests/fixtures/forkstorm \
	tests/fixtures/lsfd \
	tests/fixtures/ids \
	tests/fixtures/badptr \
	tests/fixtures/procstorm \
	tests/fixtures/chain \
	tests/fixtures/threadfiles \
	tests/fixtures/exec_busy \
	tests/fixtures/thread_exit \
	tests/fixtures/thread_churn \
	tests/fixtures/zombie \
	tests/fixtures/daemon \
	tests/fixtures/hostile \
	tests/fixtures/attach_target \
	tests/fixtures/evlog \
	tests/fixtures/exec_strings \
	tests/fixtures/cwd_moves \
	tests/fixtures/deny_pidfd \
	tests/fixtures/json_reprint
tests_fixtures_json_reprint_CFLAGS = $(CJSON_CFLAGS)
tests_fixtures_json_reprint_LDADD = $(CJSON_LIBS)
tests_fixtures_threadfiles_LDADD = -lpthread
tests_fixtures_exec_busy_LDADD = -lpthread
tests_fixtures_thread_exit_LDADD = -lpthread
tests_fixtures_thread_churn_LDADD = -lpthread
tests_fixtures_daemon_LDADD = -lpthread
tests_fixtures_forkburst_LDADD = -lpthread
tests_fixtures_threads8_LDADD = -lpthread
tests_fixtures_exec_thread_LDADD = -lpthread
tests_fixtures_attach_target_LDADD = -lpthread
tests_fixtures_evlog_LDADD = -lpthread

# Unit tests of the pure modules, linked against the internal library; each
# is built with FP_COMPILE_FLAGS and FP_LINK_FLAGS (the sanitizers under
# --enable-sanitizers), the fixtures are not.
check_PROGRAMS += tests/unit/test_path tests/unit/test_maps tests/unit/test_secret tests/unit/test_hashcache \
	tests/unit/test_trace_filter tests/unit/test_unwind_map tests/unit/test_manifest_text tests/unit/test_cpus \
	tests/unit/test_targets tests/unit/test_proc tests/unit/test_seccomp
tests_unit_test_seccomp_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_seccomp_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_seccomp_LDADD = $(FP_LIBS)
tests_unit_test_proc_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_proc_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_proc_LDADD = $(FP_LIBS)
tests_unit_test_targets_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_targets_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_targets_LDADD = $(FP_LIBS)
tests_unit_test_cpus_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_cpus_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_cpus_LDADD = $(FP_LIBS)
tests_unit_test_manifest_text_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_manifest_text_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_manifest_text_LDADD = $(FP_LIBS)
tests_unit_test_unwind_map_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_unwind_map_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_unwind_map_LDADD = $(FP_LIBS)
tests_unit_test_trace_filter_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_trace_filter_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_trace_filter_LDADD = $(FP_LIBS)
tests_unit_test_hashcache_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_hashcache_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_path_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_path_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_path_LDADD = $(FP_LIBS)
tests_unit_test_maps_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_maps_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_maps_LDADD = $(FP_LIBS)
tests_unit_test_secret_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_secret_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_secret_LDADD = $(FP_LIBS)
tests_unit_test_hashcache_LDADD = $(FP_LIBS)
TESTS += tests/unit/test_path tests/unit/test_maps tests/unit/test_secret tests/unit/test_hashcache \
	tests/unit/test_trace_filter tests/unit/test_unwind_map tests/unit/test_manifest_text tests/unit/test_cpus \
	tests/unit/test_targets tests/unit/test_proc tests/unit/test_seccomp

# Shell tests: run src/fingerprint and assert on the manifest with jq.
FP_SHELL_TESTS = \
	tests/single.test \
	tests/elf-ahead.test \
	tests/busy-wait.test \
	tests/bench-floor.test \
	tests/bench-report.test \
	tests/colocate.test \
	tests/pipeline.test \
	tests/make-project.test \
	tests/threads.test \
	tests/exec-thread.test \
	tests/vfork.test \
	tests/sigstop.test \
	tests/openat.test \
	tests/missing.test \
	tests/missing-repeat.test \
	tests/open-outcome.test \
	tests/exit-status.test \
	tests/not-found.test \
	tests/seccomp.test \
	tests/python-ctypes.test \
	tests/mpi.test \
	tests/secrets.test \
	tests/m32.test \
	tests/cli.test \
	tests/clone3.test \
	tests/deterministic.test \
	tests/atomic.test \
	tests/symlinks.test \
	tests/signals.test \
	tests/open-signals.test \
	tests/group-signals.test \
	tests/unseen-opens.test \
	tests/exec-proc-self.test \
	tests/elf-facts.test \
	tests/hash.test \
	tests/hash-cache.test \
	tests/packages.test \
	tests/packages-rpm.test \
	tests/packages-cache.test \
	tests/packages-thread.test \
	tests/stops.test \
	tests/exec-image.test \
	tests/cwd-shared.test \
	tests/fd-names.test \
	tests/pidfd-ahead.test \
	tests/stat-once.test \
	tests/manifest-stream.test \
	tests/crypto-missing.test \
	tests/unwind-libs.test \
	tests/exec-strings.test \
	tests/how.test \
	tests/scan.test \
	tests/special-paths.test \
	tests/races.test \
	tests/launch.test \
	tests/launch-stop.test \
	tests/schema.test \
	tests/interrupt.test \
	tests/tracee-faults.test \
	tests/output.test \
	tests/output-mount.test \
	tests/cloexec.test \
	tests/setuid.test \
	tests/hostile.test \
	tests/events.test
TESTS += $(FP_SHELL_TESTS)

# Load and lifecycle: many processes and threads, daemons, nested tracers.
FP_LOAD_TESTS = \
	tests/load-storm.test \
	tests/load-chain.test \
	tests/load-threads.test \
	tests/exec-busy.test \
	tests/thread-exit.test \
	tests/zombie.test \
	tests/daemons.test \
	tests/attach.test \
	tests/filter.test \
	tests/nested-ptrace.test
TESTS += $(FP_LOAD_TESTS)
EXTRA_DIST += $(FP_LOAD_TESTS)

EXTRA_DIST += \
	tests/init.sh \
	tests/validate-manifest.py \
	tests/unit/check.h \
	tests/fixtures/threads_main.h \
	$(FP_SHELL_TESTS) \
	tests/fixtures/mpi_hello.c \
	tests/fixtures/open32.c \
	tests/fixtures/static_wait.c \
	tests/fixtures/facts_lib.c \
	tests/fixtures/facts_lib.map \
	tests/fixtures/facts_main.c \
	samples/project/Makefile \
	samples/project/main.c \
	samples/project/strbuf.c \
	samples/project/words.c \
	samples/project/table.c \
	samples/project/stats.c \
	samples/project/report.c \
	samples/project/strbuf.h \
	samples/project/table.h \
	samples/project/wordstat.h

# ldso: search rules against fixtures, and against ldd on /usr/bin.
check_PROGRAMS += tests/unit/test_ldso tests/unit/test_ldd_compare
tests_unit_test_ldso_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_ldso_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_ldso_LDADD = $(FP_LIBS)
tests_unit_test_ldd_compare_CFLAGS = $(FP_COMPILE_FLAGS)
tests_unit_test_ldd_compare_LDFLAGS = $(FP_LINK_FLAGS)
tests_unit_test_ldd_compare_LDADD = $(FP_LIBS)
TESTS += tests/unit/test_ldso tests/unit/test_ldd_compare

# Caller attribution. The fixture libraries (libopener, plugin.so) and the
# programs linked against them are built by the tests themselves with gcc
# into their temporary directory; the C++ fixture with g++, as configure does
# not look for a C++ compiler (no AC_PROG_CXX).
FP_CALLERS_TESTS = \
	tests/callers.test \
	tests/callers-cxx.test \
	tests/callers-direct.test \
	tests/callers-loader.test \
	tests/callers-lazy.test \
	tests/callers-crafted.test \
	tests/callers-off.test
TESTS += $(FP_CALLERS_TESTS)
EXTRA_DIST += \
	$(FP_CALLERS_TESTS) \
	tests/fixtures/opener_lib.c \
	tests/fixtures/opener_main.c \
	tests/fixtures/many_callers.c \
	tests/fixtures/opener_threads.c \
	tests/fixtures/opener_zlib.c \
	tests/fixtures/opener_jit.c \
	tests/fixtures/opener_direct.c \
	tests/fixtures/plugin.c \
	tests/fixtures/plugin_host.c \
	tests/fixtures/cxx_open.cc

# Manifest tools: diff, check, merge, show.
FP_TOOLS_TESTS = \
	tests/diff.test \
	tests/check.test \
	tests/show.test \
	tests/merge.test
TESTS += $(FP_TOOLS_TESTS)
EXTRA_DIST += $(FP_TOOLS_TESTS)

# The command-line experience: the status line on a terminal (run on a pty
# by tests/on-tty.py), the manual page, bash completion, make install.
FP_UI_TESTS = \
	tests/status.test \
	tests/manpage.test \
	tests/completion.test \
	tests/install.test
TESTS += $(FP_UI_TESTS)
EXTRA_DIST += $(FP_UI_TESTS) tests/on-tty.py

# The manifest reader's fuzz harness. In `make check` it is built with gcc as
# a replay program and run (under valgrind when installed) on the seed corpus
# (samples/manifests) and on hostile inputs; `make fuzz` builds it with
# clang's libFuzzer and fuzzes for FUZZ_SECONDS (default 300).
check_PROGRAMS += tests/fuzz/fuzz_replay
tests_fuzz_fuzz_replay_SOURCES = tests/fuzz/fuzz_manifest.c
tests_fuzz_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFP_FUZZ_REPLAY
tests_fuzz_fuzz_replay_CFLAGS = $(FP_COMPILE_FLAGS)
tests_fuzz_fuzz_replay_LDFLAGS = $(FP_LINK_FLAGS)
tests_fuzz_fuzz_replay_LDADD = $(FP_LIBS)
TESTS += tests/fuzz-replay.test
EXTRA_DIST += tests/fuzz-replay.test samples/manifests/trace-sh.json samples/manifests/trace-job.json \
	samples/manifests/scan-cat.json samples/manifests/trace-sh-merged.json samples/manifests/trace-bytes.json \
	tests/fuzz/regress-duplicate-library.json

FUZZ_SECONDS = 300
fuzz:
	@command -v clang > /dev/null || { echo "make fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
	$(MKDIR_P) tests/fuzz/corpus
	cp $(top_srcdir)/samples/manifests/*.json tests/fuzz/corpus/
	srcs=; for f in $(src_libfingerprint_a_SOURCES); do \
		case $$f in *.c) srcs="$$srcs $(top_srcdir)/$$f";; esac; \
	done; \
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I$(top_builddir) -I$(top_srcdir)/src $(CJSON_CFLAGS) $(LIBELF_CFLAGS) $(LIBDW_CFLAGS) \
		$(UNWIND_CFLAGS) $(CRYPTO_CFLAGS) -o tests/fuzz/fuzz_manifest \
		$(top_srcdir)/tests/fuzz/fuzz_manifest.c $$srcs \
		$(CJSON_LIBS) $(LIBDW_LIBS) $(LIBELF_LIBS) $(UNWIND_LIBS) $(CRYPTO_LIBS) $(PTHREAD_LIBS)
	tests/fuzz/fuzz_manifest -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 tests/fuzz/corpus
.PHONY: fuzz
clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/corpus tests/fuzz/fuzz_manifest crash-* leak-* timeout-* oom-*

# make check-valgrind: the tests with every fingerprint they run under
# valgrind's memcheck (tests/init.sh: FP_WRAPPER), and the unit tests under
# it too. Each runs through a stub in tests/valgrind/ so that its log and
# result (tests/valgrind/NAME.log, .trs) stand beside those of `make check`.
# A memcheck error or a leak "definitely lost" fails the test (status 86 and
# the report in the test's log). See README.md: Developing.
FP_VALGRIND = valgrind --tool=memcheck -q --error-exitcode=86 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
# Every test that runs fingerprint but m32 (it needs IA32 emulation and skips
# without) and fuzz-replay (it runs the replay under valgrind itself).
FP_VALGRIND_TESTS = \
	launch single pipeline make-project threads exec-thread vfork sigstop clone3 \
	openat missing exit-status not-found seccomp python-ctypes mpi secrets cli \
	deterministic atomic symlinks signals elf-facts hash packages how scan \
	special-paths races schema callers callers-cxx callers-direct callers-loader \
	callers-lazy callers-off diff check show merge status events
FP_VALGRIND_UNITS = test_path test_maps test_secret test_ldso test_ldd_compare test_cpus test_targets test_unwind_map test_proc
FP_VALGRIND_TIMEOUT = 600
check-valgrind: $(check_PROGRAMS) $(bin_PROGRAMS)
	@if test "$(enable_sanitizers)" = yes; then \
		echo "make check-valgrind: valgrind cannot run an --enable-sanitizers build (configure without it)" >&2; \
		exit 1; \
	fi
	@command -v valgrind > /dev/null || { echo "make check-valgrind: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
	$(AM_V_at)$(MKDIR_P) tests/valgrind
	$(AM_V_GEN)tests=; \
	for t in $(FP_VALGRIND_TESTS); do \
		{ echo '#!/bin/sh'; \
		  echo '# make check-valgrind: tests/'"$$t"'.test with fingerprint under memcheck.'; \
		  echo "FP_WRAPPER='$(FP_VALGRIND) --log-file=@DIR@/valgrind.%p'"; \
		  echo 'FP_TIMEOUT=$(FP_VALGRIND_TIMEOUT)'; \
		  echo '. "$$abs_top_srcdir/tests/'"$$t"'.test"'; \
		} > tests/valgrind/$$t.test; \
		tests="$$tests tests/valgrind/$$t.test"; \
	done; \
	for t in $(FP_VALGRIND_UNITS); do \
		{ echo '#!/bin/sh'; \
		  echo '# make check-valgrind: tests/unit/'"$$t"' under memcheck.'; \
		  echo 'exec $(FP_VALGRIND) "$$abs_top_builddir/tests/unit/'"$$t"'"'; \
		} > tests/valgrind/unit-$$t.test; \
		tests="$$tests tests/valgrind/unit-$$t.test"; \
	done; \
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS="$$tests" TEST_SUITE_LOG=tests/valgrind/test-suite.log
.PHONY: check-valgrind
clean-local: clean-valgrind
clean-valgrind:
	rm -rf tests/valgrind
