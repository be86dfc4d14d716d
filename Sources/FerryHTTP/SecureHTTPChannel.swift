import FerryCore
import FerrySecurity
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOTLS

/// HTTP over TLS: HTTP/2 or HTTP/1.1 as the client's ALPN chooses (HTTP/1.1
/// when it names neither), each as Hummingbird serves it in plain text, with
/// Ferry's TLS handler from `ServerTLS` (a certificate read afresh when its
/// files change) and a guard that admits the connection and bounds its
/// handshake.
struct SecureHTTPChannel: HTTPChannelHandler {
    enum Negotiated: Sendable {
        case http1(HTTP1Channel.Value)
        case http2(HTTP2Channel.Value)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let tls: ServerTLS
    let http1: HTTP1Channel
    /// nil where only HTTP/1.1 is offered (the metrics port).
    let http2: HTTP2Channel?
    let policy: ConnectionPolicy
    let count: ConnectionCount

    var responder: Responder { http1.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let handlers = channel.pipeline.syncOperations
            try handlers.addHandler(tls.makeHandler())
            try handlers.addHandler(TLSHandshakeGuard(count: count, timeout: policy.headerTimeout))
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated("h2") where http2 != nil:
                    return http2!.setup(channel: channel, logger: logger).map { .http2($0) }
                case .negotiated("http/1.1"), .fallback:
                    return http1.setup(channel: channel, logger: logger).map { .http1($0) }
                case .negotiated(let other):
                    // The TLS handler offers only the protocols above; anything else is a broken client.
                    logger.debug("closing a connection that negotiated ALPN '\(other)'")
                    return channel.close().flatMapThrowing { throw ChannelError.ioOnClosedChannel }
                }
            }
            try handlers.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2?.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("TLS connection ended before HTTP began: \(error)")
        }
    }
}
