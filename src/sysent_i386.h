/*
 * Watched syscalls of the i386 ABI (32-bit programs on a 64-bit kernel).
 * Old mmap (90) takes its arguments through a pointer the filter cannot
 * inspect; glibc uses mmap2, which is watched.
 */
[5]   = { 3, SC_OPEN,  SEN(open),     "open" },
[8]   = { 2, SC_OPEN,  SEN(creat),    "creat" },
[11]  = { 3, SC_EXEC,  SEN(execve),   "execve" },
[12]  = { 1, SC_CHDIR, SEN(chdir),    "chdir" },
[26]  = { 4, SC_PTRACE, SEN(ptrace),  "ptrace" },
[61]  = { 1, SC_ROOT,  SEN(chroot),   "chroot" },
[133] = { 1, SC_CHDIR, SEN(fchdir),   "fchdir" },
[192] = { 6, SC_MMAP,  SEN(mmap),     "mmap2" },
[217] = { 2, SC_CHDIR, SEN(newroot),  "pivot_root" },
[241] = { 3, SC_AFFINITY, SEN(setaffinity), "sched_setaffinity" },
[242] = { 3, SC_AFFINITY, SEN(getaffinity), "sched_getaffinity" },
[295] = { 4, SC_OPEN,  SEN(openat),   "openat" },
[310] = { 1, SC_ROOT,  SEN(unshare),  "unshare" },
[346] = { 2, SC_CHDIR, SEN(newroot),  "setns" },
[358] = { 5, SC_EXEC,  SEN(execveat), "execveat" },
[437] = { 4, SC_OPEN,  SEN(openat2),  "openat2" },
