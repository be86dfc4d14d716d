import CFerrySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Threads and a condition variable straight from POSIX. Foundation's
/// `Thread` and `NSCondition` live in full Foundation, whose ICU data (40 MB)
/// would otherwise be linked into `ferry` and every image it builds.
enum NativeThread {
    /// Starts a detached thread running `body`; `name` shows in `top -H` and
    /// debuggers (Linux keeps the first 15 bytes).
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        Joinable(name: name, body).detach()
    }

    /// A thread that is waited for: `join` returns once it has ended
    /// entirely, its closure and thread-local storage released (ONNX
    /// Runtime's per-thread buffers among them). One not joined is detached
    /// when the handle goes.
    final class Joinable: @unchecked Sendable {
        private let thread: ThreadID
        private var settled = false

        init(name: String, _ body: @escaping @Sendable () -> Void) {
            thread = NativeThread.create(name: name, body)
        }

        /// Blocks until the thread ends; call from a thread that may block.
        func join() {
            guard !settled else { return }
            settled = true
            #if canImport(Glibc)
                pthread_join(thread, nil)
            #else
                pthread_join(thread!, nil)
            #endif
        }

        fileprivate func detach() {
            guard !settled else { return }
            settled = true
            #if canImport(Glibc)
                pthread_detach(thread)
            #else
                pthread_detach(thread!)
            #endif
        }

        deinit { detach() }
    }

    #if canImport(Glibc)
        typealias ThreadID = pthread_t
    #else
        typealias ThreadID = pthread_t?
    #endif

    private static func create(name: String, _ body: @escaping @Sendable () -> Void) -> ThreadID {
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let box = Unmanaged.passRetained(Box(name: name, body)).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                _ = ferry_set_current_thread_name(box.name)
                box.body()
                return nil
            }, box)
        precondition(status == 0, "pthread_create failed with \(status)")
        return thread
    }

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, _ body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}

/// A mutex with one condition variable, waited on against the monotonic clock.
///
/// `@unchecked Sendable`: the pthread objects are made for use across
/// threads; they sit at fixed heap addresses for the lock's lifetime.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits until signalled (or woken spuriously); call with the lock held.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits at most `timeout`; call with the lock held.
    func wait(timeout: Duration) {
        #if canImport(Glibc)
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let (seconds, attoseconds) = timeout.components
            var nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
            deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
            nanoseconds %= 1_000_000_000
            deadline.tv_nsec = nanoseconds
            _ = pthread_cond_timedwait(condition, mutex, &deadline)
        #else
            var relative = timespec(
                tv_sec: Int(timeout.components.seconds), tv_nsec: Int(timeout.components.attoseconds / 1_000_000_000))
            _ = pthread_cond_timedwait_relative_np(condition, mutex, &relative)
        #endif
    }
}
