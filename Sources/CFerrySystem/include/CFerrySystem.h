#ifndef CFERRYSYSTEM_H
#define CFERRYSYSTEM_H

// Linux calls that glibc declares only under _GNU_SOURCE, which Swift's
// Glibc module does not define. Foundation used to make them visible; Ferry
// links FoundationEssentials only.

/// Names the calling thread (the first 15 bytes), as `top -H` shows it. Returns 0 or an errno.
int ferry_set_current_thread_name(const char *name);

/// Marks the calling thread CPU-bound for the scheduler (SCHED_BATCH). Returns 0 or -1.
int ferry_set_current_thread_batch_scheduling(void);

#endif
