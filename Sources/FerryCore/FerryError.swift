/// The one error type that crosses module boundaries. Its code is mapped to an
/// HTTP status and a gRPC status here, once, so every frontend answers the
/// same failure the same way.
public struct FerryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The request is malformed or does not fit the model.
        case invalidArgument
        /// No such model, version, input, output or job.
        case notFound
        /// The model or server cannot take the request now (not ready, queue full).
        case unavailable
        /// The request body is larger than the server accepts.
        case payloadTooLarge
        /// The request waited or ran longer than its timeout.
        case deadlineExceeded
        /// The client cancelled the request.
        case cancelled
        /// The resource is in a state that does not allow the operation (a finished job cannot be cancelled).
        case conflict
        /// The model failed to load or is not usable (missing library, corrupt file).
        case failedPrecondition
        /// The backend failed while running a valid request.
        case `internal`
        /// The request carries no valid credential (a missing, unknown or expired key or token).
        case unauthenticated
        /// The credential is valid but lacks the scope the request needs.
        case permissionDenied
        /// The credential (or client address) sent more requests than its rate limit allows.
        case rateLimited
    }

    public var code: Code
    public var message: String
    /// The backend's own error code (ONNX Runtime's `OrtErrorCode`), when the error came from it.
    public var backendCode: Int?

    public init(_ code: Code, _ message: String, backendCode: Int? = nil) {
        self.code = code
        self.message = message
        self.backendCode = backendCode
    }

    public var description: String { message }

    public var httpStatus: Int {
        switch code {
        case .invalidArgument: 400
        case .notFound: 404
        case .unavailable: 503
        case .payloadTooLarge: 413
        case .deadlineExceeded: 504
        case .cancelled: 499
        case .conflict: 409
        case .failedPrecondition: 400
        case .internal: 500
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .rateLimited: 429
        }
    }

    /// The numeric gRPC status code (grpc/doc/statuscodes.md).
    public var grpcStatusCode: Int {
        switch code {
        case .invalidArgument: 3
        case .notFound: 5
        case .unavailable: 14
        case .payloadTooLarge: 8
        case .deadlineExceeded: 4
        case .cancelled: 1
        case .conflict: 9
        // A model that cannot load is reported as Triton does: INVALID_ARGUMENT.
        case .failedPrecondition: 3
        case .internal: 13
        case .unauthenticated: 16
        case .permissionDenied: 7
        case .rateLimited: 8
        }
    }
}
