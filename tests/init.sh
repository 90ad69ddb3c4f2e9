# tests/init.sh: sourced by every tests/*.test (POSIX sh).
#
# Gives a test:
#   $me        the test's name (file name without .test)
#   $tmp       a fresh, physical (symlink-free) temporary directory, removed on exit
#   $manifest  where fp_run writes the manifest ($tmp/deps.json unless changed)
#   $XDG_CACHE_HOME  $tmp/cache (exported): fingerprint's hash cache goes
#              there, never to the user's ~/.cache
#   $FIXTURES  the built fixtures directory (physical path)
#   fp_run CMD...      run "$FINGERPRINT" -q -o "$manifest" -- CMD..., under a
#                      timeout; its exit status goes to $fp_status (fp_run
#                      itself returns 0). A timeout is a failure.
#   fail MSG / skip MSG / hard_error MSG   exit 1 / 77 / 99 with MSG on stderr
#   require CMD...     skip when a command is missing
#   expect_status N    fail unless $fp_status is N
#   jq_assert FILTER FILE MSG [SHOW]
#                      jq -e FILTER FILE must be true; else fail with MSG and
#                      print SHOW (a jq filter; default a summary) of FILE.
#                      FILTER can use $tmp, $fixtures, $srcdir and the helpers
#                      in $fp_jq_defs (has_bin, file, has_missing, ...).
#   check_manifest FILE  the invariants every manifest must satisfy (a
#                      traced run's), schema validation included
#   validate_manifest FILE...
#                      each FILE must match schema/fingerprint-1.schema.json
#                      (tests/validate-manifest.py: one line per violation);
#                      fp_run and fp_run_opts validate the manifest they wrote
#   fp_schema_python   after fp_find_schema_python: a python3 that has
#                      jsonschema 4 (Debian's python3-jsonschema), or empty
#                      when there is none and validation is skipped
#   check_packages FILE  those of package ownership (also for scan manifests)
#
# Environment (from AM_TESTS_ENVIRONMENT): FINGERPRINT, abs_top_srcdir,
# abs_top_builddir, FIXTURES, FP_SANITIZERS (yes in an --enable-sanitizers
# build); FP_SCHEMA_PYTHON names the python3 to validate with; FP_TIMEOUT
# the seconds fp_run allows (60); FP_WRAPPER a command prefix every
# fingerprint of the test runs under (make check-valgrind: valgrind).
# Exit codes: 0 pass, 1 fail, 77 skip, 99 harness.

me=${0##*/}
me=${me%.test}

fail() { printf '%s: FAIL: %s\n' "$me" "$*" >&2; exit 1; }
skip() { printf '%s: SKIP: %s\n' "$me" "$*" >&2; exit 77; }
hard_error() { printf '%s: HARNESS ERROR: %s\n' "$me" "$*" >&2; exit 99; }

for v in FINGERPRINT abs_top_srcdir abs_top_builddir FIXTURES; do
	eval "test -n \"\${$v:-}\"" || hard_error "$v is not set (run through make check)"
done

require() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "required command '$c' not found"
	done
}

require jq
test -x "$FINGERPRINT" || hard_error "$FINGERPRINT is not built"
FIXTURES=$(cd "$FIXTURES" 2>/dev/null && pwd -P) || hard_error "no fixtures directory"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-$me.XXXXXX") || hard_error "mktemp failed"
tmp=$(cd "$tmp" && pwd -P) || hard_error "cannot enter $tmp"

# FP_WRAPPER: $FINGERPRINT becomes a script that execs the real one under
# the wrapper (the same pid, so %p and signals still reach it). Each @DIR@ in
# FP_WRAPPER names a directory of the test's own, outside $tmp, for the
# wrapper's reports (valgrind's --log-file); a report there with a
# "==PID==" line (valgrind's error and leak lines) fails the test.
fp_wrap_dir=
if test -n "${FP_WRAPPER:-}"; then
	fp_wrap_dir=$(mktemp -d "${TMPDIR:-/tmp}/fp-$me-wrap.XXXXXX") || hard_error "mktemp failed"
	fp_wrap_cmd=$(printf '%s\n' "$FP_WRAPPER" | sed "s|@DIR@|$fp_wrap_dir|g")
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$fp_wrap_cmd" "$FINGERPRINT" > "$fp_wrap_dir/fingerprint" &&
		chmod +x "$fp_wrap_dir/fingerprint" || hard_error "cannot write the FP_WRAPPER script"
	FINGERPRINT=$fp_wrap_dir/fingerprint
fi

# A sanitizer or valgrind report fails the test even where the test ignored
# fingerprint's status or kept its stderr in a file of $tmp.
fp_reports() {
	fp_rep=$({
		test "${FP_SANITIZERS:-no}" != yes ||
			grep -rlI -D skip -E '^==[0-9]+==ERROR: [A-Za-z]+Sanitizer|: runtime error: ' "$tmp"
		test -z "$fp_wrap_dir" || grep -lE '^==[0-9]+==' "$fp_wrap_dir"/*
	} 2>/dev/null)
	test -n "$fp_rep" || return 0
	printf '%s\n' "$fp_rep" | while IFS= read -r f; do
		printf '%s: FAIL: a memory error report in %s:\n' "$me" "$f" >&2
		sed -n '1,60s/^/  /p' "$f" >&2
	done
	return 1
}
trap 'st=$?; chmod -R u+rwx "$tmp" 2>/dev/null; fp_reports || st=1
	rm -rf "$tmp" ${fp_wrap_dir:+"$fp_wrap_dir"}; exit $st' EXIT
trap 'exit 99' HUP INT TERM
manifest=$tmp/deps.json

# fingerprint's persistent hash cache ($XDG_CACHE_HOME/fingerprint): each
# test gets its own, empty, so the suite never reads or writes the user's
# ~/.cache. FINGERPRINT_HASH_STATS is for the tests that ask for it.
XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME
unset FINGERPRINT_HASH_STATS

# A hang is a failure, not a stuck test suite.
fp_timeout=${FP_TIMEOUT:-60}
if command -v timeout >/dev/null 2>&1; then
	fp_timeout_cmd="timeout -k 5 $fp_timeout"
else
	fp_timeout_cmd=
fi

# The manifest's JSON Schema, checked with Debian's python3-jsonschema: a
# python3 earlier in PATH (pyenv's) may not have the module, so the system
# one is tried first. Found on first use; empty when there is none.
fp_schema=$abs_top_srcdir/schema/fingerprint-1.schema.json
fp_schema_python=unset
fp_find_schema_python() {
	test "$fp_schema_python" = unset || return 0
	fp_schema_python=
	for py in ${FP_SCHEMA_PYTHON:-} /usr/bin/python3 /bin/python3 $(command -v python3 2>/dev/null); do
		if test -x "$py" && "$py" -c 'from jsonschema import Draft202012Validator' 2>/dev/null; then
			fp_schema_python=$py
			return 0
		fi
	done
	printf '%s: note: no python3 with jsonschema 4 (apt-get install python3-jsonschema):' "$me" >&2
	printf ' manifests are not validated against the schema\n' >&2
}

# The last manifest found valid, with its checksum: fp_run then check_manifest
# of the same file validates it once.
fp_validated=
validate_manifest() {
	for vm in "$@"; do
		test -s "$vm" || fail "no manifest at $vm"
		vm_key="$vm $(cksum < "$vm")"
		test "$vm_key" = "$fp_validated" && continue
		fp_find_schema_python
		test -n "$fp_schema_python" || return 0
		vm_status=0
		"$fp_schema_python" "$abs_top_srcdir/tests/validate-manifest.py" "$fp_schema" "$vm" \
			> "$tmp/schema.out" 2>&1 || vm_status=$?
		case $vm_status in
		0) fp_validated=$vm_key ;;
		1)
			printf '%s: FAIL: manifest %s does not match %s:\n' "$me" "$vm" "$fp_schema" >&2
			sed -n '1,40s/^/  /p' "$tmp/schema.out" >&2
			vm_n=$(wc -l < "$tmp/schema.out")
			test "$vm_n" -le 40 || printf '  ... %d violations in all\n' "$vm_n" >&2
			exit 1 ;;
		*) hard_error "tests/validate-manifest.py cannot run: $(cat "$tmp/schema.out")" ;;
		esac
	done
}

# Validate $manifest when the run that just ended wrote it ($1: its checksum before).
fp_validate_written() {
	test -f "$manifest" && test "$(cksum < "$manifest")" != "$1" && validate_manifest "$manifest"
	return 0
}

fp_run() {
	fp_status=0
	fp_before=
	test -f "$manifest" && fp_before=$(cksum < "$manifest")
	$fp_timeout_cmd "$FINGERPRINT" -q -o "$manifest" -- "$@" || fp_status=$?
	if test -n "$fp_timeout_cmd" && test "$fp_status" = 124; then
		fail "fingerprint did not finish within ${fp_timeout}s: fingerprint -q -o $manifest -- $*"
	fi
	fp_validate_written "$fp_before"
}

# Like fp_run but with extra fingerprint options: fp_run_opts "OPTS" CMD...
fp_run_opts() {
	fp_opts=$1
	shift
	fp_status=0
	fp_before=
	test -f "$manifest" && fp_before=$(cksum < "$manifest")
	# shellcheck disable=SC2086
	$fp_timeout_cmd "$FINGERPRINT" -q $fp_opts -o "$manifest" -- "$@" || fp_status=$?
	if test -n "$fp_timeout_cmd" && test "$fp_status" = 124; then
		fail "fingerprint did not finish within ${fp_timeout}s: fingerprint -q $fp_opts -o $manifest -- $*"
	fi
	fp_validate_written "$fp_before"
}

expect_status() {
	test "$fp_status" = "$1" ||
		fail "fingerprint exited $fp_status, expected $1${2:+ ($2)}"
}

# jq helpers prepended to every jq_assert filter.
fp_jq_defs='
def paths_of(s): [s[]? | .path];
def has_bin($p): any(.binaries[]?; .path == $p);
def has_bin_re($re): any(.binaries[]?; (.path | test($re)) or ((.target // "") | test($re)));
def bin($p): first(.binaries[]? | select(.path == $p));
def has_lib_re($re): any(.libraries[]?; .path | test($re));
def lib_re($re): first(.libraries[]? | select(.path | test($re)));
def has_file($p): any(.files[]?; .path == $p);
def file($p): first(.files[]? | select(.path == $p));
def has_missing($p): any(.missing[]?; .path == $p);
def procs_of($p): [.processes[]? | select(.binary == $p)];
def writes: (.access == "write" or .access == "read-write");
def reads: (.access == "read" or .access == "read-write");
'

fp_jq_summary='{
  run: .run,
  binaries: [.binaries[]? | "\(.path)\(if .target then " -> \(.target)" else "" end) x\(.exec_count)"],
  libraries: [.libraries[]? | "\(.path) <- \(.loaded_by | join(" "))"],
  files: [.files[]? | "\(.path) \(.access)\(if .created then " created" else "" end)\(if .type then " " + .type else "" end) <- \([.opened_by[]?.binary] | join(" "))"],
  missing: [.missing[]? | "\(.path) <- \(.probed_by | join(" "))"],
  processes: [.processes[]? | "pid \(.pid) ppid \(.ppid) \(.binary) cwd \(.cwd) threads \(.threads) exit \(.exit | tojson) argv \(.argv | tojson)"]
}'

fp_jq() {
	jq --arg tmp "$tmp" --arg fixtures "$FIXTURES" --arg srcdir "$abs_top_srcdir" "$@"
}

show_manifest() {
	fp_jq "$fp_jq_defs ${2:-$fp_jq_summary}" "$1" 2>&1 | head -n 200 >&2
}

jq_assert() {
	ja_filter=$1 ja_file=$2 ja_msg=$3 ja_show=${4:-}
	test -f "$ja_file" || fail "$ja_msg (and there is no manifest $ja_file)"
	if ! fp_jq -e "$fp_jq_defs $ja_filter" "$ja_file" >/dev/null 2>"$tmp/jq.err"; then
		printf '%s: FAIL: %s\n  jq filter: %s\n' "$me" "$ja_msg" "$ja_filter" >&2
		sed 's/^/  jq: /' "$tmp/jq.err" >&2
		printf '  manifest %s:\n' "$ja_file" >&2
		show_manifest "$ja_file" "$ja_show"
		exit 1
	fi
}

# Package ownership: "package" (null or {name, version, arch}) on every
# binary, library and file exactly when run.packages is "dpkg" or "rpm",
# never on missing; packages: the owners, once each, sorted by name, arch,
# version;
# unpackaged: the sorted paths with package null, but /proc, /sys, /dev and
# per-process files.
check_packages() {
	cp_m=$1
	jq_assert '.run.packages | type == "string" and (. == "dpkg" or . == "rpm" or startswith("not looked up: "))' \
		"$cp_m" 'run.packages must be "dpkg", "rpm" or "not looked up: REASON"' '.run'
	jq_assert 'all(.missing[]; has("package") | not)' "$cp_m" 'missing entries never get a package' '.missing'
	jq_assert 'if .run.packages == "dpkg" or .run.packages == "rpm" then
			all((.binaries, .libraries, .files)[]; has("package") and (.package == null
				or (.package | keys == ["arch", "name", "version"] and all(.[]; type == "string" and length > 0))))
			and (.packages | type == "array") and (.unpackaged | type == "array")
		else
			all((.binaries, .libraries, .files)[]; has("package") | not)
			and (has("packages") | not) and (has("unpackaged") | not)
		end' "$cp_m" 'package keys present exactly when run.packages is "dpkg" or "rpm"' \
		'{run: .run.packages, keys: [(.binaries, .libraries, .files)[] | {path, package}]}'
	jq_assert '(has("packages") | not) or (.packages | . == unique_by([.name, .arch, .version]))' \
		"$cp_m" 'packages must be sorted by name, arch, version, each once' '.packages'
	jq_assert '(has("packages") | not) or
		(.packages == ([(.binaries, .libraries, .files)[].package // empty] | unique_by([.name, .arch, .version])))' "$cp_m" \
		'packages must be exactly the owners of the binaries, libraries and files' \
		'{packages, owners: [(.binaries, .libraries, .files)[].package // empty] | unique}'
	jq_assert '(has("unpackaged") | not) or
		(.unpackaged == ([(.binaries, .libraries, .files)[]
			| select(.package == null and .type != "per-process"
				and (.path | test("^/(proc|sys|dev)(/|$)") | not)) | .path] | sort))' "$cp_m" \
		'unpackaged must be the sorted unowned paths (but /proc, /sys, /dev, per-process)' '.unpackaged'
}

# Invariants from the manifest specification that hold for every run.
check_manifest() {
	cm=$1
	test -s "$cm" || fail "no manifest at $cm"
	jq -e . "$cm" >/dev/null 2>&1 || fail "manifest $cm is not valid JSON"
	validate_manifest "$cm"
	jq_assert '.schema == "fingerprint/1"' "$cm" 'schema is not fingerprint/1' '.schema'
	jq_assert '.tool == {"name": "fingerprint", "version": "0.1.0"}' "$cm" 'bad tool object' '.tool'
	jq_assert '(.run.command | type == "array" and length > 0 and all(type == "string"))
		and (.run.cwd | type == "string" and startswith("/"))
		and (.run.exit | type == "object" and (has("status") or has("signal")))
		and (.run.complete | type == "boolean")
		and (.run.seccomp | type == "boolean")' "$cm" 'run section incomplete' '.run'
	jq_assert 'all(.binaries, .libraries, .files, .missing, .processes; type == "array")
		and all(.env, .cmdlines; type == "object")' "$cm" 'a top-level section is missing or has the wrong type' 'keys'
	jq_assert 'all(.binaries, .libraries, .files, .missing; [.[].path] as $p | $p == ($p | unique))' "$cm" \
		'binaries/libraries/files/missing must be sorted by path without duplicates'
	jq_assert 'def normal: type == "string" and startswith("/")
			and (test("//|/\\./|/\\.\\./|/\\.\\.?$") | not)
			and (. == "/" or (endswith("/") | not));
		all((.binaries, .libraries, .files, .missing)[]; .path | normal)
		and all(.binaries[]; (.target // "/") | normal)' "$cm" \
		'every path must be absolute and lexically normalised'
	jq_assert 'all(.binaries[]; (.exec_count | type == "number") and .exec_count >= 1)' "$cm" \
		'every binary needs exec_count >= 1'
	jq_assert '[.binaries[].path] as $b
		| all(.libraries[]; (.loaded_by | length > 0) and .loaded_by == (.loaded_by | unique)
			and all(.loaded_by[]; . as $x | $b | index([$x]) != null))' "$cm" \
		'libraries[].loaded_by must be sorted, non-empty binary paths'
	jq_assert 'all(.files[]; .access == "read" or .access == "write" or .access == "read-write")' "$cm" \
		'files[].access must be read, write or read-write'
	jq_assert 'all(.files[]; (.type // "directory") | IN("directory", "fifo", "char-device", "block-device", "socket", "other", "gone", "per-process"))' "$cm" \
		'files[].type has an unknown value'
	jq_assert '([.binaries[] | .path, (.target // empty)] + [.libraries[].path]) as $code
		| [.files[].path | select(. as $f | $code | index([$f]) != null)] == []' "$cm" \
		'a binary or library is repeated in files'
	jq_assert 'all(.env | to_entries[]; (.value | type == "array") and .value == (.value | unique)
			and all(.value[]; type == "string"))' "$cm" \
		'env values must be sorted arrays of strings (NAME=value, or an entry without = as passed)'
	jq_assert 'all(.cmdlines | to_entries[]; (.value | type == "array") and .value == (.value | unique)
			and all(.value[]; type == "array" and all(.[]; type == "string")))' "$cm" \
		'cmdlines values must be sorted arrays of argv arrays'
	jq_assert 'all(.processes[]; (.pid | type == "number") and (.ppid | type == "number")
			and (.argv | type == "array" or type == "null") and (.threads | type == "number" and . >= 1))' "$cm" \
		'processes[] entries incomplete'
	# Who opened it: {binary, module, function, for}; module is a path or
	# null (the stack could not be walked), function and for only with a
	# module; deduplicated, sorted by binary then module.
	jq_assert 'all(.files[]; .opened_by | type == "array" and all(.[];
			type == "object" and (.binary == null or (.binary | type == "string"))
			and (keys - ["binary", "module", "function", "for"]) == []
			and (if has("module") then .module == null or (.module | type == "string" and startswith("/"))
				else (has("function") or has("for")) | not end)
			and (if .module == null then (has("function") or has("for")) | not else true end)
			and (if has("function") then .function | type == "string" and length > 0 else true end)
			and (if has("for") then .for | type == "string" and startswith("/") else true end)))' "$cm" \
		'files[].opened_by entries must be {binary, module, function, for} with function/for only beside a module' \
		'[.files[] | select(any(.opened_by[]?; (keys - ["binary", "module", "function", "for"]) != [] or .module == null)) | {path, opened_by}]'
	jq_assert 'all(.files[]; .opened_by as $o
			| ($o | length) == ($o | unique | length)
			and ([$o[].binary] | . == sort)
			and all(range(1; $o | length); $o[. - 1].binary != $o[.].binary
				or $o[. - 1].module == null or $o[.].module == null
				or $o[. - 1].module <= $o[.].module))' "$cm" \
		'files[].opened_by must be deduplicated and sorted by binary, then module' \
		'[.files[] | {path, opened_by}]'
	# Unless -e trace left mmap out (run.trace without "mmap"): the module
	# is then named from the maps, but no library was recorded.
	jq_assert '([.libraries[].path] + [.binaries[] | .path, (.target // empty)]) as $code
		| (.run | type == "object" and has("trace") and (.trace | index("mmap") == null)) as $nommap
		| all(.files[].opened_by[]; (.module // null) as $m | $m == null or ($code | index([$m]) != null)
			or ($nommap and ($m | startswith("/"))))' "$cm" \
		'every opened_by module must be a library or a binary of the manifest (with mmap traced)' \
		'{code: ([.libraries[].path] + [.binaries[] | .path, (.target // empty)]), modules: ([.files[].opened_by[].module // empty] | unique)}'
	jq_assert '[.files[] | .path as $p | .opened_by[] | select(.module != null) | {m: .module, p: $p}] as $pairs
		| all(.libraries[]; .path as $l | ([$pairs[] | select(.m == $l) | .p] | unique) as $want
			| if $want == [] then has("opened") | not else .opened == $want end)' "$cm" \
		'libraries[].opened must be the sorted files whose opened_by names the library as module (absent when none)' \
		'{libraries: [.libraries[] | {path, opened}], modules: [.files[] | {path, modules: [.opened_by[].module]}]}'
	jq_assert 'any(.files[].opened_by[]; has("module") and .module == null) as $lost
		| ($lost | not) or any(.run.warnings[]?; .kind == "unwind" and .count >= 1)' "$cm" \
		'an opened_by with module null needs an "unwind" warning in run.warnings' '.run.warnings'
	check_packages "$cm"
}
