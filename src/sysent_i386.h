/*
 * Watched syscalls of the i386 ABI (32-bit programs on a 64-bit kernel).
 * Old mmap (90) takes its arguments through a pointer the filter cannot
 * inspect; glibc uses mmap2, which is watched.
 */
[5]   = { 3, SC_OPEN,  SEN(open),     "open" },
[8]   = { 2, SC_OPEN,  SEN(creat),    "creat" },
[11]  = { 3, SC_EXEC,  SEN(execve),   "execve" },
[12]  = { 1, SC_CHDIR, SEN(chdir),    "chdir" },
[23]  = { 1, SC_CREDS, SEN(creds),   "setuid" }, /* 16-bit ids */
[26]  = { 4, SC_PTRACE, SEN(ptrace),  "ptrace" },
[46]  = { 1, SC_CREDS, SEN(creds),   "setgid" }, /* 16-bit ids */
[61]  = { 1, SC_ROOT,  SEN(chroot),   "chroot" },
[70]  = { 2, SC_CREDS, SEN(creds),   "setreuid" }, /* 16-bit ids */
[71]  = { 2, SC_CREDS, SEN(creds),   "setregid" }, /* 16-bit ids */
[81]  = { 2, SC_CREDS, SEN(creds),   "setgroups" },
[133] = { 1, SC_CHDIR, SEN(fchdir),   "fchdir" },
[138] = { 1, SC_CREDS, SEN(creds),   "setfsuid" }, /* 16-bit ids */
[139] = { 1, SC_CREDS, SEN(creds),   "setfsgid" }, /* 16-bit ids */
[164] = { 3, SC_CREDS, SEN(creds),   "setresuid" }, /* 16-bit ids */
[170] = { 3, SC_CREDS, SEN(creds),   "setresgid" }, /* 16-bit ids */
[172] = { 5, SC_PRCTL, SEN(prctl),    "prctl" },
[185] = { 2, SC_CREDS, SEN(creds),   "capset" },
[192] = { 6, SC_MMAP,  SEN(mmap),     "mmap2" },
[203] = { 2, SC_CREDS, SEN(setuids), "setreuid32" },
[204] = { 2, SC_CREDS, SEN(setgids), "setregid32" },
[206] = { 2, SC_CREDS, SEN(creds),   "setgroups32" },
[208] = { 3, SC_CREDS, SEN(setuids), "setresuid32" },
[210] = { 3, SC_CREDS, SEN(setgids), "setresgid32" },
[213] = { 1, SC_CREDS, SEN(setuids), "setuid32" },
[214] = { 1, SC_CREDS, SEN(setgids), "setgid32" },
[215] = { 1, SC_CREDS, SEN(setuids), "setfsuid32" },
[216] = { 1, SC_CREDS, SEN(setgids), "setfsgid32" },
[217] = { 2, SC_CHDIR, SEN(newroot),  "pivot_root" },
[241] = { 3, SC_AFFINITY, SEN(setaffinity), "sched_setaffinity" },
[242] = { 3, SC_AFFINITY, SEN(getaffinity), "sched_getaffinity" },
[295] = { 4, SC_OPEN,  SEN(openat),   "openat" },
[310] = { 1, SC_ROOT,  SEN(unshare),  "unshare" },
[342] = { 3, SC_OPEN,  SEN(open_by_handle_at), "open_by_handle_at" },
[346] = { 2, SC_CHDIR, SEN(newroot),  "setns" },
[358] = { 5, SC_EXEC,  SEN(execveat), "execveat" },
[425] = { 2, SC_URING, SEN(io_uring_setup), "io_uring_setup" },
[437] = { 4, SC_OPEN,  SEN(openat2),  "openat2" },
[446] = { 2, SC_CREDS, SEN(creds),   "landlock_restrict_self" },
