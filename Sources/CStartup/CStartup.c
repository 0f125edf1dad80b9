// Before anything else in `pretrain`: an OpenMP wait policy that does not spin a loaded machine to a halt.
//
// libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when it loads (before main), and by default its idle
// workers spin 300,000 times before sleeping. On two cores shared with another busy process that spinning takes the
// cores from the threads doing the work: a training step measured 3–13× slower, KV-cache generation up to 60×.
// When the user has set neither variable, this constructor sets GOMP_SPINCOUNT=1000 (a short spin, then sleep: on a
// quiet machine as fast as the default within noise, under load close to OMP_WAIT_POLICY=passive; docs/PERFORMANCE.md)
// and executes the same program again with the same arguments, so that the libgomp of the new image reads it.
// PRETRAIN_OMP_REEXEC=0 turns it off. Only the `pretrain` executable links this target.
#define _GNU_SOURCE
#include "CStartup.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *chosen = "";

const char *sp_startup_wait_policy(void) { return chosen; }

__attribute__((constructor)) static void sp_choose_wait_policy(void) {
    const char *set = getenv("PRETRAIN_OMP_POLICY_SET");
    if (set && strcmp(set, "1") == 0) {   // the image this constructor executed: say so, and keep the variable from children
        chosen = "GOMP_SPINCOUNT=1000";
        unsetenv("PRETRAIN_OMP_POLICY_SET");
        return;
    }
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    const char *off = getenv("PRETRAIN_OMP_REEXEC");
    if (off && strcmp(off, "0") == 0) return;
    // The arguments as the kernel passed them (NUL-separated in /proc/self/cmdline), at most 256 KiB and 4096 of them.
    static char buffer[1 << 18];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0) return;
    ssize_t length = 0, n;
    while ((n = read(fd, buffer + length, sizeof buffer - 1 - (size_t)length)) > 0) length += n;
    close(fd);
    if (length <= 0 || length >= (ssize_t)sizeof buffer - 1) return;
    buffer[length] = 0;
    static char *arguments[4097];
    int count = 0;
    for (ssize_t i = 0; i < length && count < 4096; i += (ssize_t)strlen(buffer + i) + 1) arguments[count++] = buffer + i;
    arguments[count] = NULL;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0 || setenv("PRETRAIN_OMP_POLICY_SET", "1", 1) != 0) return;
    execv("/proc/self/exe", arguments);
    // execv returned: keep running as we are (the policy then is libgomp's default), without claiming one.
    unsetenv("GOMP_SPINCOUNT");
    unsetenv("PRETRAIN_OMP_POLICY_SET");
}
