# Test suite: owned by tests/. Appended to the top-level Makefile.am.

# Fixtures: small programs that each do one thing under the tracer.
check_PROGRAMS += \
	tests/fixtures/fileops \
	tests/fixtures/threads8 \
	tests/fixtures/exec_thread \
	tests/fixtures/vfork_exec \
	tests/fixtures/sigstop_self \
	tests/fixtures/clone3_child \
	tests/fixtures/spawn \
	tests/fixtures/forkburst \
	tests/fixtures/forkstorm
tests_fixtures_forkburst_LDADD = -lpthread
tests_fixtures_threads8_LDADD = -lpthread
tests_fixtures_exec_thread_LDADD = -lpthread

# Unit tests of the pure modules, linked against the internal library.
check_PROGRAMS += tests/unit/test_path tests/unit/test_maps tests/unit/test_secret
tests_unit_test_path_LDADD = $(FP_LIBS)
tests_unit_test_maps_LDADD = $(FP_LIBS)
tests_unit_test_secret_LDADD = $(FP_LIBS)
TESTS += tests/unit/test_path tests/unit/test_maps tests/unit/test_secret

# Shell tests: run src/fingerprint and assert on the manifest with jq.
FP_SHELL_TESTS = \
	tests/single.test \
	tests/pipeline.test \
	tests/make-project.test \
	tests/threads.test \
	tests/exec-thread.test \
	tests/vfork.test \
	tests/sigstop.test \
	tests/openat.test \
	tests/missing.test \
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
	tests/elf-facts.test \
	tests/hash.test \
	tests/how.test \
	tests/scan.test \
	tests/special-paths.test \
	tests/races.test \
	tests/launch.test \
	tests/schema.test
TESTS += $(FP_SHELL_TESTS)

EXTRA_DIST += \
	tests/init.sh \
	tests/validate-manifest.py \
	tests/unit/check.h \
	tests/fixtures/threads_main.h \
	$(FP_SHELL_TESTS) \
	tests/fixtures/mpi_hello.c \
	tests/fixtures/open32.c \
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
tests_unit_test_ldso_LDADD = $(FP_LIBS)
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
	tests/callers-off.test
TESTS += $(FP_CALLERS_TESTS)
EXTRA_DIST += \
	$(FP_CALLERS_TESTS) \
	tests/fixtures/opener_lib.c \
	tests/fixtures/opener_main.c \
	tests/fixtures/opener_threads.c \
	tests/fixtures/opener_zlib.c \
	tests/fixtures/opener_jit.c \
	tests/fixtures/opener_direct.c \
	tests/fixtures/plugin.c \
	tests/fixtures/plugin_host.c \
	tests/fixtures/cxx_open.cc
