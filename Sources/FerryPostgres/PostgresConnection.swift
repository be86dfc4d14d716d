import Crypto
import FerryCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One session with a PostgreSQL server. A task of its own owns the socket
/// and runs the statements handed to it one at a time; a session that
/// connects to listen (`listening` channels) passes NOTIFYs to its handler
/// instead and runs nothing else.
///
/// A statement that takes longer than `statementTimeout` closes the session
/// (a server that stopped answering would otherwise hold the caller forever).
public final class PostgresConnection: Sendable {
    private struct Command: Sendable {
        var statement: Statement
        var continuation: CheckedContinuation<PostgresRows, any Error>
    }

    private let channel: any Channel
    private let commands: AsyncStream<Command>.Continuation
    let statementTimeout: Duration

    private init(channel: any Channel, commands: AsyncStream<Command>.Continuation, statementTimeout: Duration) {
        self.channel = channel
        self.commands = commands
        self.statementTimeout = statementTimeout
    }

    /// False once the server closed the session or it broke.
    public var isOpen: Bool { channel.isActive }

    /// Connects, negotiates TLS as the configuration asks, and authenticates.
    public static func connect(
        _ configuration: PostgresConfiguration, statementTimeout: Duration = .seconds(30),
        listening channels: [String] = [], onNotification: (@Sendable (PostgresNotification) -> Void)? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws(PostgresError) -> PostgresConnection {
        let asyncChannel: NIOAsyncChannel<BackendMessage, ByteBuffer>
        do {
            asyncChannel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout / .nanoseconds(1))))
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(BackendMessageDecoder(expectingSSLResponse: configuration.tlsMode != .disable)))
                        return try NIOAsyncChannel<BackendMessage, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw PostgresError(.connection, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        let (stream, continuation) = AsyncStream<Command>.makeStream()
        let connection = PostgresConnection(channel: asyncChannel.channel, commands: continuation, statementTimeout: statementTimeout)
        // A port that accepts but never answers (not PostgreSQL, or a stopped server) must not hold the start.
        let startTimeout = asyncChannel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(configuration.connectTimeout / .nanoseconds(1)))) {
            [channel = asyncChannel.channel] in channel.close(promise: nil)
        }
        defer { startTimeout.cancel() }
        do {
            try await withCheckedThrowingContinuation { (startup: CheckedContinuation<Void, any Error>) in
                let started = Once(startup)
                Task {
                    do {
                        try await asyncChannel.executeThenClose { inbound, outbound in
                            var session = Session(messages: inbound.makeAsyncIterator(), outbound: outbound, channel: asyncChannel.channel)
                            try await session.start(configuration)
                            if !channels.isEmpty {
                                _ = try await session.run(simpleQuery: channels.map { "LISTEN \(Self.quoted($0))" }.joined(separator: "; "))
                            }
                            started.take()?.resume()
                            if let onNotification {
                                try await session.forwardNotifications(to: onNotification)
                            } else {
                                try await connection.serve(stream, session: &session)
                            }
                        }
                    } catch {
                        if let startup = started.take() {
                            startup.resume(throwing: error)
                        } else {
                            logger.debug("PostgreSQL session ended", metadata: ["error": "\(error)"])
                        }
                    }
                    continuation.finish()
                    // Statements queued behind the broken one fail as well.
                    for await command in stream {
                        command.continuation.resume(throwing: PostgresError(.connection, "the PostgreSQL session was closed"))
                    }
                }
            }
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(.connection, "cannot start a PostgreSQL session: \(error)")
        }
        return connection
    }

    private func serve(_ stream: AsyncStream<Command>, session: inout Session) async throws {
        for await command in stream {
            let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(statementTimeout / .nanoseconds(1)))) { [channel] in
                channel.close(promise: nil)
            }
            do {
                let rows = try await session.run(command.statement)
                timeout.cancel()
                command.continuation.resume(returning: rows)
            } catch let error as PostgresError where error.kind == .server {
                timeout.cancel()
                command.continuation.resume(throwing: error)
            } catch {
                timeout.cancel()
                let broken =
                    channel.isActive
                    ? PostgresError(.connection, "the PostgreSQL session broke: \(error)")
                    : PostgresError(.connection, "the PostgreSQL session was closed (server gone, or no answer within \(statementTimeout))")
                command.continuation.resume(throwing: broken)
                throw broken
            }
        }
    }

    /// Runs one statement with binary parameters (`$1`, `$2`, …).
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws(PostgresError) -> PostgresRows {
        try await send(.extended(sql, parameters))
    }

    /// Runs statements in the simple protocol: several may be given at once,
    /// none takes parameters (migrations, LISTEN, BEGIN/COMMIT).
    public func execute(_ sql: String) async throws(PostgresError) {
        _ = try await send(.simple(sql))
    }

    private func send(_ statement: Statement) async throws(PostgresError) -> PostgresRows {
        guard channel.isActive else { throw PostgresError(.connection, "the PostgreSQL session was closed") }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                if case .terminated = commands.yield(Command(statement: statement, continuation: continuation)) {
                    continuation.resume(throwing: PostgresError(.connection, "the PostgreSQL session was closed"))
                }
            }
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(.connection, "\(error)")
        }
    }

    public func close() {
        commands.finish()
        channel.close(promise: nil)
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }
}

private enum Statement: Sendable {
    /// Extended protocol: binary parameters and results.
    case extended(String, [PostgresValue])
    /// Simple protocol: several statements, no parameters, text results.
    case simple(String)
}

/// The socket's two directions, used only by the connection's own task.
private struct Session {
    var messages: NIOAsyncChannelInboundStream<BackendMessage>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    /// Statements prepared in this session, by their SQL: the server parses
    /// and plans each once per session instead of once per call.
    var prepared: [String: String] = [:]
    var preparedCount = 0
    static let maximumPrepared = 128

    init(messages: NIOAsyncChannelInboundStream<BackendMessage>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) {
        self.messages = messages
        self.outbound = outbound
        self.channel = channel
    }

    mutating func run(_ statement: Statement) async throws -> PostgresRows {
        switch statement {
        case .simple(let sql):
            return try await run(simpleQuery: sql)
        case .extended(let sql, let parameters):
            var request = channel.allocator.buffer(capacity: sql.utf8.count + 64)
            if let name = prepared[sql] {
                FrontendMessage.extendedQuery(sql, parameters, statement: name, parse: false, into: &request)
                do {
                    return try await run(request)
                } catch let error as PostgresError where error.sqlState == "26000" || error.sqlState == "0A000" {
                    // Gone (DISCARD) or outdated by a schema change: prepare it again.
                    prepared[sql] = nil
                    _ = try? await run(simpleQuery: "DEALLOCATE \(name)")
                    return try await run(statement)
                }
            }
            // Past the limit (SQL built from many filters), statements go unnamed and unkept.
            // A name is never reused: a statement whose Parse succeeded but whose Bind failed still exists.
            let name = prepared.count < Self.maximumPrepared ? "ferry_\(preparedCount)" : ""
            if !name.isEmpty { preparedCount += 1 }
            FrontendMessage.extendedQuery(sql, parameters, statement: name, parse: true, into: &request)
            let rows = try await run(request)
            if !name.isEmpty { prepared[sql] = name }
            return rows
        }
    }

    mutating func next() async throws -> BackendMessage {
        guard let message = try await messages.next() else {
            throw PostgresError(.connection, "the server closed the connection")
        }
        return message
    }

    /// TLS failures (an unreadable root, a certificate that does not verify)
    /// are configuration errors: trying again would fail the same way.
    mutating func start(_ configuration: PostgresConfiguration) async throws {
        do {
            try await negotiate(configuration)
        } catch let error as NIOSSLError {
            throw PostgresError(.configuration, "TLS with \(configuration.host) failed (sslmode=\(configuration.tlsMode.rawValue)): \(error)")
        } catch let error as NIOSSLExtraError {
            throw PostgresError(.configuration, "TLS with \(configuration.host) failed (sslmode=\(configuration.tlsMode.rawValue)): \(error)")
        }
    }

    private mutating func negotiate(_ configuration: PostgresConfiguration) async throws {
        var buffer = channel.allocator.buffer(capacity: 256)
        if configuration.tlsMode != .disable {
            FrontendMessage.sslRequest(into: &buffer)
            try await outbound.write(buffer)
            guard case .sslResponse(let accepted) = try await next() else {
                throw PostgresError(.protocolViolation, "the server did not answer the TLS request")
            }
            if accepted {
                try await channel.eventLoop.submit { [channel] in
                    try channel.pipeline.syncOperations.addHandler(try Self.tlsHandler(configuration), position: .first)
                }.get()
            } else if configuration.tlsMode != .prefer {
                throw PostgresError(.configuration, "the server does not offer TLS, and sslmode=\(configuration.tlsMode.rawValue) requires it")
            }
            buffer.clear()
        }
        FrontendMessage.startup(
            user: configuration.user, database: configuration.database,
            parameters: [("application_name", configuration.applicationName), ("client_encoding", "UTF8"), ("TimeZone", "UTC")],
            into: &buffer)
        try await outbound.write(buffer)
        var scram: SCRAMClient?
        while true {
            let message = try await next()
            buffer.clear()
            switch message {
            case .authentication(.ok), .parameterStatus, .backendKeyData, .notice: continue
            case .readyForQuery: return
            case .error(let error, _):
                throw error.sqlState == "28P01" || error.sqlState == "28000"
                    ? PostgresError(.configuration, error.message, sqlState: error.sqlState) : error
            case .authentication(.cleartextPassword):
                FrontendMessage.password(try Self.password(configuration), into: &buffer)
            case .authentication(.md5Password(let salt)):
                FrontendMessage.password(Self.md5Password(try Self.password(configuration), user: configuration.user, salt: salt), into: &buffer)
            case .authentication(.sasl(let mechanisms)):
                guard mechanisms.contains(SCRAMClient.mechanism) else {
                    throw PostgresError(.configuration, "the server offers SASL mechanisms \(mechanisms), none of which Ferry speaks")
                }
                var client = SCRAMClient(password: try Self.password(configuration))
                FrontendMessage.saslInitialResponse(mechanism: SCRAMClient.mechanism, data: client.clientFirstMessage(), into: &buffer)
                scram = client
            case .authentication(.saslContinue(let data)):
                guard var client = scram else { throw PostgresError(.protocolViolation, "the server continued a SASL exchange never begun") }
                FrontendMessage.saslResponse(try client.clientFinalMessage(serverFirst: data), into: &buffer)
                scram = client
            case .authentication(.saslFinal(let data)):
                guard let client = scram else { throw PostgresError(.protocolViolation, "the server ended a SASL exchange never begun") }
                try client.verify(serverFinal: data)
                continue
            case .authentication(.unsupported(let code)):
                throw PostgresError(.configuration, "the server asks for an authentication method Ferry does not speak (code \(code))")
            default:
                throw PostgresError(.protocolViolation, "unexpected message during start-up: \(message)")
            }
            try await outbound.write(buffer)
        }
    }

    /// Sends one request and reads up to ReadyForQuery. A server error is
    /// thrown once the server is ready again, so the session stays usable.
    mutating func run(_ request: ByteBuffer) async throws -> PostgresRows {
        try await outbound.write(request)
        var columns: [BackendMessage.Column] = []
        var rows: [[ByteBuffer?]] = []
        var tag = ""
        var failure: PostgresError?
        while true {
            switch try await next() {
            case .rowDescription(let described): columns = described
            case .dataRow(let values): rows.append(values)
            case .commandComplete(let completed): tag = completed
            case .error(let error, let fatal):
                if fatal { throw PostgresError(.connection, error.message, sqlState: error.sqlState) }
                failure = error
            case .readyForQuery:
                if let failure { throw failure }
                return PostgresRows(columns: columns, rows: rows, tag: tag)
            default: continue
            }
        }
    }

    mutating func run(simpleQuery sql: String) async throws -> PostgresRows {
        var request = channel.allocator.buffer(capacity: sql.utf8.count + 8)
        FrontendMessage.query(sql, into: &request)
        return try await run(request)
    }

    mutating func forwardNotifications(to handler: @Sendable (PostgresNotification) -> Void) async throws {
        while true {
            switch try await next() {
            case .notification(let notification): handler(notification)
            case .error(let error, true): throw PostgresError(.connection, error.message, sqlState: error.sqlState)
            default: continue
            }
        }
    }

    private static func password(_ configuration: PostgresConfiguration) throws(PostgresError) -> String {
        guard let password = configuration.password else {
            throw PostgresError(.configuration, "the server asks for a password for user '\(configuration.user)', and none was given")
        }
        return password
    }

    private static func md5Password(_ password: String, user: String, salt: [UInt8]) -> String {
        let inner = Insecure.MD5.hash(data: Array((password + user).utf8)).hexString
        return "md5" + Insecure.MD5.hash(data: Array(inner.utf8) + salt).hexString
    }

    private static func tlsHandler(_ configuration: PostgresConfiguration) throws -> NIOSSLClientHandler {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.tlsMode {
        case .disable, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let root = configuration.rootCertificatePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
            } catch {
                throw PostgresError(.configuration, "cannot read the sslrootcert '\(root)' (PEM certificates): \(error)")
            }
        }
        let isAddress = configuration.host.contains(":") || configuration.host.allSatisfy { $0.isNumber || $0 == "." }
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: tls), serverHostname: isAddress ? nil : configuration.host)
    }
}


/// A continuation resumed at most once, from whichever side gets to it first.
private final class Once: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, any Error>?>
    init(_ continuation: CheckedContinuation<Void, any Error>) { self.continuation = Mutex(continuation) }
    func take() -> CheckedContinuation<Void, any Error>? { continuation.withLock { $0.take() } }
}
