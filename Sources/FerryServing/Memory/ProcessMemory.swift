import CFerrySystem

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The process's memory as the kernel counts it, and the two allocator
/// settings that decide whether memory freed by an unloaded model comes back.
public enum ProcessMemory {
    /// Resident set size from /proc/self/statm (second field, in pages).
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Bytes allocated through malloc and not freed (glibc's count). Unlike
    /// RSS it does not move when freed pages are reused or returned, so a
    /// load's growth in it is what the load allocated.
    public static func heapInUseBytes() -> Int? {
        let bytes = ferry_heap_in_use()
        return bytes >= 0 ? bytes : nil
    }

    /// What a piece of work added to the process: the larger of its growth
    /// in RSS and in the heap's allocations (the heap misses memory mapped
    /// outside malloc; RSS misses allocations that reused pages freed before).
    public struct Usage: Sendable {
        let resident: Int?
        let heap: Int?

        public static var now: Usage { Usage(resident: residentBytes(), heap: heapInUseBytes()) }

        public func growth(since before: Usage) -> Int? {
            let deltas = [
                resident.flatMap { now in before.resident.map { now - $0 } },
                heap.flatMap { now in before.heap.map { now - $0 } },
            ].compactMap { $0 }
            return deltas.max().map { max(0, $0) }
        }
    }

    /// Hands freed heap pages back to the kernel. glibc keeps what a model's
    /// sessions freed in its arenas for reuse, so without this an unloaded
    /// model's memory stays resident (a 4 MB model: RSS 75 → 99 MB over 20
    /// unload/load cycles).
    public static func releaseFreeMemory() {
        _ = ferry_release_free_memory()
    }

    /// Caps glibc's malloc arenas. glibc gives each new thread that contends
    /// for the heap an arena of its own, up to 8 per core; every load runs on
    /// a new thread, and memory freed in one arena is never reused by another,
    /// so a server that loads and unloads models kept growing (the same 20
    /// cycles: RSS 75 → 99 MB with glibc's default, 74 → 78 MB with 2 arenas).
    /// Must run before the server starts its threads.
    public static func limitAllocatorArenas(_ count: Int) {
        _ = ferry_limit_malloc_arenas(Int32(clamping: max(1, count)))
    }
}
