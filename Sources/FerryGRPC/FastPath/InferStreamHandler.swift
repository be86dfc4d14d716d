import FerryCore
import FerryProtocol
import FerryServing
import FerryTelemetry
import NIOCore
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf

/// Answers KServe's `ModelInfer` and `ModelStreamInfer` on the HTTP/2
/// stream's own event loop: frames in, protobuf decoded, the request handed
/// to the model's queue, and the answer written back from the event loop
/// when the instance thread finishes. Every other RPC, and these two when
/// they ask for compression, go on to grpc-swift, which this handler leaves
/// at once.
///
/// Why not grpc-swift for these two: its server path costs more than twice
/// the instructions of Ferry's whole HTTP path per request (callgrind, `make
/// profile`): each RPC becomes Swift tasks, async sequences and writers,
/// with a thread hand-off on the way in and on the way out, and generic code
/// that resolves its types at run time. Inference is the hot path; the other
/// RPCs are not, and keep grpc-swift's full implementation.
///
/// Statuses and messages are the ones grpc-swift gives (the same
/// `FerryError` sentences as HTTP). A stream keeps up to `streamWindow`
/// requests in flight and answers them in order; beyond that it stops
/// reading, and HTTP/2 flow control holds the client back.
final class InferStreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    static let unaryPath = "/inference.GRPCInferenceService/ModelInfer"
    static let streamingPath = "/inference.GRPCInferenceService/ModelStreamInfer"
    /// Requests of one stream queued or running at once.
    static let streamWindow = 64

    private enum Mode {
        case undecided, unary, streaming
    }

    /// What a request's answer is once it is ready, encoded off the event loop.
    private enum Answer {
        case message(ByteBuffer)
        case failure(FerryError)
    }

    private struct InFlight {
        let sequence: Int
        let cancellation: Cancellation
        var answer: Answer?
    }

    private let server: InferenceServer
    private let tensorLimit: Int
    private let shutdown: GRPCStreamShutdown
    private var reader: GRPCMessageReader
    private var context: ChannelHandlerContext?

    private var mode = Mode.undecided
    private var unaryMessage: ByteBuffer?
    private var requestEnded = false
    private var respondedHeaders = false
    private var finished = false
    private var inFlight: [InFlight] = []
    private var nextSequence = 0
    private var readHeld = false
    /// A streaming RPC's closing status, sent once the answers before it are.
    private var closingStatus: (code: Int, message: String)?
    private var deadline: Scheduled<Void>?
    private var shuttingDown = false
    private var registered = false
    /// The call's trace span, when traces are exported (`StreamObserver` starts it).
    private var span: RequestSpan?

    /// Whether calls are traced: only then is the span looked up.
    private let traced: Bool

    init(server: InferenceServer, messageLimit: Int, tensorLimit: Int, shutdown: GRPCStreamShutdown, traced: Bool = false) {
        self.server = server
        self.traced = traced
        self.tensorLimit = tensorLimit
        self.shutdown = shutdown
        self.reader = GRPCMessageReader(limit: messageLimit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard mode != .undecided else {
            guard case .headers(let headers) = frame, let chosen = Self.mode(for: headers.headers) else {
                // Not ours: grpc-swift answers it, and this handler steps aside.
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            begin(chosen, headers: headers, context: context)
            return
        }
        guard !finished else { return }
        switch frame {
        case .data(let data):
            if case .byteBuffer(let bytes) = data.data {
                reader.append(bytes)
                readMessages()
            }
            if data.endStream { requestDidEnd() }
        case .headers(let trailers):
            if trailers.endStream { requestDidEnd() }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client reset the stream or the connection went: nobody waits for these answers.
        if !finished {
            finished = true
            stopWork()
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        releaseReadIfRoom()
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if mode == .streaming && !finished && (inFlight.count >= Self.streamWindow || !context.channel.isWritable) {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: The request

    /// The RPC this handler serves for these request headers, or nil for grpc-swift's.
    private static func mode(for headers: HPACKHeaders) -> Mode? {
        var path: Substring?
        var isPost = false
        var isGRPC = false
        var plain = true
        for (name, value, _) in headers {
            switch name {
            case ":path": path = Substring(value)
            case ":method": isPost = value == "POST"
            case "content-type": isGRPC = value == "application/grpc" || value.hasPrefix("application/grpc+proto")
            case "grpc-encoding": plain = value == "identity"
            default: break
            }
        }
        guard isPost, isGRPC, plain else { return nil }
        switch path {
        case unaryPath[...]: return .unary
        case streamingPath[...]: return .streaming
        default: return nil
        }
    }

    private func begin(_ chosen: Mode, headers: HTTP2Frame.FramePayload.Headers, context: ChannelHandlerContext) {
        mode = chosen
        if traced { span = (try? context.pipeline.syncOperations.handler(type: StreamObserver.self))?.record.span }
        if let value = headers.headers.first(name: "grpc-timeout") {
            guard let timeout = GRPCResponseFrames.timeout(value) else {
                finish(code: 3, message: "grpc-timeout '\(value)' is not a timeout (1 to 8 digits and a unit: H, M, S, m, u or n)")
                return
            }
            let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) {
                loop.value.finish(code: 4, message: "the RPC's deadline (grpc-timeout \(value)) passed before its answer")
            }
        }
        if chosen == .streaming {
            let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            registered = true
            if !shutdown.register(ObjectIdentifier(self), stop: { eventLoop.execute { loop.value.beginShutdown() } }) {
                shuttingDown = true
            }
        }
        if headers.endStream { requestDidEnd() }
    }

    private func readMessages() {
        while !finished {
            let message: ByteBuffer?
            do {
                message = try reader.next()
            } catch {
                let status = error.status(tensorLimit: tensorLimit)
                finish(code: status.code, message: status.message)
                return
            }
            guard let message else { return }
            switch mode {
            case .unary:
                guard unaryMessage == nil else {
                    finish(code: 13, message: "ModelInfer takes one request message; this request sent more")
                    return
                }
                unaryMessage = message
            case .streaming:
                // After a shutdown began, messages are not run: the stream ends
                // UNAVAILABLE. After one that was not a request, none are: the
                // stream ends with that error once the answers before it are out.
                if !shuttingDown && closingStatus == nil { start(message) }
            case .undecided:
                return
            }
        }
    }

    private func requestDidEnd() {
        guard !requestEnded, !finished else { return }
        requestEnded = true
        if reader.hasPartialMessage {
            finish(code: 13, message: "the request ended inside a message")
            return
        }
        switch mode {
        case .unary:
            guard let message = unaryMessage else {
                finish(code: 13, message: "ModelInfer takes one request message; this request sent none")
                return
            }
            unaryMessage = nil
            start(message)
        case .streaming:
            finishIfDone()
        case .undecided:
            break
        }
    }

    private func start(_ message: ByteBuffer) {
        let received = span == nil ? nil : WallInstant.now()
        let request: Inference_ModelInferRequest
        do {
            request = try Inference_ModelInferRequest(serializedBytes: GRPCMessageBytes(message))
        } catch {
            let text = "the request message is not a ModelInferRequest (\(error))"
            if mode == .unary {
                finish(code: 3, message: text)
            } else {
                closingStatus = (3, text)
                finishIfDone()
            }
            return
        }
        let sequence = nextSequence
        nextSequence += 1
        let cancellation = Cancellation()
        inFlight.append(InFlight(sequence: sequence, cancellation: cancellation))
        let inference: InferenceRequest
        do throws(FerryError) {
            try checkPayload(GRPCTensorCoding.payloadBytes(request), limit: tensorLimit)
            inference = try GRPCTensorCoding.request(request)
        } catch {
            answered(sequence, Self.answer(.failure(error), to: request, streaming: mode == .streaming))
            return
        }
        let streaming = mode == .streaming
        let eventLoop = context!.eventLoop
        let loop = NIOLoopBound(self, eventLoop: eventLoop)
        let span = self.span
        let submitted = received.map { _ in WallInstant.now() }
        server.submit(inference, model: request.modelName, version: request.modelVersion, cancellation: cancellation) { result in
            // Encoded on the instance thread: the event loop only writes.
            let answer = Self.answer(result, to: request, streaming: streaming)
            if let span, let received, let submitted {
                span.recordInference(received: received, submitted: submitted, timing: try? result.get().timing, encoded: .now())
            }
            eventLoop.execute { loop.value.answered(sequence, answer) }
        }
    }

    private static func answer(_ result: Result<InferenceResponse, FerryError>, to request: Inference_ModelInferRequest, streaming: Bool)
        -> Answer
    {
        do {
            guard streaming else {
                return .message(try (GRPCTensorCoding.response(result.get()).serializedBytes() as FramedMessage).frame)
            }
            var reply = Inference_ModelStreamInferResponse()
            switch result {
            case .success(let response):
                reply.inferResponse = GRPCTensorCoding.response(response)
            case .failure(let error):
                reply.errorMessage = error.message
                reply.inferResponse.id = request.id
                reply.inferResponse.modelName = request.modelName
                reply.inferResponse.modelVersion = request.modelVersion
            }
            return .message(try (reply.serializedBytes() as FramedMessage).frame)
        } catch let error as FerryError {
            return .failure(error)
        } catch {
            return .failure(FerryError(.internal, "the response could not be encoded: \(error)"))
        }
    }

    // MARK: Answers

    private func answered(_ sequence: Int, _ answer: Answer) {
        guard !finished, let index = inFlight.firstIndex(where: { $0.sequence == sequence }) else { return }
        inFlight[index].answer = answer
        guard index == 0, let context else { return }
        while let head = inFlight.first, let answer = head.answer {
            inFlight.removeFirst()
            switch answer {
            case .message(let bytes):
                if !respondedHeaders {
                    respondedHeaders = true
                    context.write(wrapOutboundOut(GRPCResponseFrames.headers), promise: nil)
                }
                context.write(wrapOutboundOut(GRPCResponseFrames.data(bytes)), promise: nil)
                if mode == .unary {
                    finish(code: 0, message: nil)
                    return
                }
            case .failure(let error):
                finish(code: error.grpcStatusCode, message: error.message)
                return
            }
        }
        context.flush()
        releaseReadIfRoom()
        finishIfDone()
    }

    private func releaseReadIfRoom() {
        guard readHeld, let context, inFlight.count < Self.streamWindow, context.channel.isWritable else { return }
        readHeld = false
        context.read()
    }

    private func finishIfDone() {
        guard mode == .streaming, !finished, inFlight.isEmpty else { return }
        if let closingStatus {
            finish(code: closingStatus.code, message: closingStatus.message)
        } else if shuttingDown {
            finish(
                code: 14,
                message: "the server is shutting down: requests sent on this stream after the last answer were not run; send them again")
        } else if requestEnded {
            finish(code: 0, message: nil)
        }
    }

    private func beginShutdown() {
        registered = false
        guard !shuttingDown else { return }
        shuttingDown = true
        finishIfDone()
    }

    /// Writes the status and ends the response. A client still sending is
    /// told to stop with RST_STREAM NO_ERROR (RFC 9113 §8.1), which keeps the
    /// status it got.
    private func finish(code: Int, message: String?) {
        guard !finished, let context else { return }
        finished = true
        context.write(wrapOutboundOut(GRPCResponseFrames.status(code, message: message, trailersOnly: !respondedHeaders)), promise: nil)
        if !requestEnded {
            context.write(wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
        context.flush()
        stopWork()
    }

    /// Withdraws what is still queued or running and lets go of the timer and the shutdown list.
    private func stopWork() {
        deadline?.cancel()
        deadline = nil
        for request in inFlight { request.cancellation.cancel() }
        inFlight = []
        if registered {
            registered = false
            shutdown.deregister(ObjectIdentifier(self))
        }
    }
}
