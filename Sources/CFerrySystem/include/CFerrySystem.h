#ifndef CFERRYSYSTEM_H
#define CFERRYSYSTEM_H

// Linux calls that glibc declares only under _GNU_SOURCE, which Swift's
// Glibc module does not define. Foundation used to make them visible; Ferry
// links FoundationEssentials only.

/// Names the calling thread (the first 15 bytes), as `top -H` shows it. Returns 0 or an errno.
int ferry_set_current_thread_name(const char *name);

/// Marks the calling thread CPU-bound for the scheduler (SCHED_BATCH). Returns 0 or -1.
int ferry_set_current_thread_batch_scheduling(void);

/// Returns the free memory at the top of every malloc arena, and whole free
/// pages inside them, to the system (glibc's malloc_trim). Returns 1 if any was released.
int ferry_release_free_memory(void);

/// Caps how many malloc arenas glibc creates (M_ARENA_MAX); call before threads start. Returns 1 on success.
int ferry_limit_malloc_arenas(int count);

/// Bytes malloc has handed out and not had back, in every arena and in mmapped chunks (glibc's mallinfo2); -1 elsewhere.
long ferry_heap_in_use(void);

#endif
