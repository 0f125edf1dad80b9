#ifndef CSTARTUP_H
#define CSTARTUP_H

/// The OpenMP wait setting `pretrain` chose for itself at start-up ("" when the user's environment chose one).
const char *sp_startup_wait_policy(void);

#endif
