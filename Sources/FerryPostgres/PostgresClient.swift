import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A small pool of sessions with one server. Sessions open on demand up to
/// `maxConnections`, and one found closed (the server restarted, the network
/// broke) is dropped and replaced on the next call, so callers recover by
/// retrying, without a restart of their own.
public final class PostgresClient: Sendable {
    public let configuration: PostgresConfiguration
    public let maxConnections: Int
    let statementTimeout: Duration
    let logger: Logger

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<PostgresConnection?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    public init(configuration: PostgresConfiguration, maxConnections: Int = 4, statementTimeout: Duration = .seconds(30), logger: Logger) {
        self.configuration = configuration
        self.maxConnections = max(1, maxConnections)
        self.statementTimeout = statementTimeout
        self.logger = logger
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws(PostgresError) -> PostgresRows {
        try await withConnection { connection throws(PostgresError) in try await connection.query(sql, parameters) }
    }

    /// Lends one session for several statements (a transaction). The body
    /// must leave it as it found it: commit or roll back before returning.
    public func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws(PostgresError) -> Result
    ) async throws(PostgresError) -> Result {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            if error.kind == .server && connection.isOpen {
                // A failed statement inside an open transaction leaves it aborted: end it before the session is reused.
                try? await connection.execute("ROLLBACK")
            }
            release(connection)
            throw error
        }
    }

    private func acquire() async throws(PostgresError) -> PostgresConnection {
        enum Next { case use(PostgresConnection), open, wait }
        while true {
            let next = state.withLock { state -> Next? in
                guard !state.closed else { return nil }
                while let connection = state.idle.popLast() {
                    if connection.isOpen { return .use(connection) }
                    state.open -= 1
                }
                if state.open < maxConnections {
                    state.open += 1
                    return .open
                }
                return .wait
            }
            switch next {
            case nil: throw PostgresError(.connection, "the PostgreSQL client is closed")
            case .use(let connection): return connection
            case .open:
                do {
                    return try await PostgresConnection.connect(configuration, statementTimeout: statementTimeout, logger: logger)
                } catch {
                    let waiter = state.withLock { state in
                        state.open -= 1
                        return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
                    }
                    // A waiter takes over the attempt to open (it fails the same way or succeeds).
                    waiter?.resume(returning: nil)
                    throw error
                }
            case .wait:
                let handed = await withCheckedContinuation { (continuation: CheckedContinuation<PostgresConnection?, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.closed || state.open < maxConnections || !state.idle.isEmpty { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume(returning: nil) }
                }
                if let handed { return handed }
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        let waiter = state.withLock { state -> CheckedContinuation<PostgresConnection?, Never>? in
            guard connection.isOpen, !state.closed else {
                state.open -= 1
                if state.closed { connection.close() }
                return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
            }
            guard !state.waiters.isEmpty else {
                state.idle.append(connection)
                return nil
            }
            return state.waiters.removeFirst()
        }
        // A waiter gets the session itself, or (if it broke) the free slot to open another.
        waiter?.resume(returning: connection.isOpen ? connection : nil)
    }

    public func close() {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for connection in idle { connection.close() }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
