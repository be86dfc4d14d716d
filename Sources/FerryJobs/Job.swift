import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An inference request accepted to run later (`Prefer: respond-async`), as
/// the job store keeps it. The request and response bodies are kept apart:
/// listing jobs never reads them.
public struct Job: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case queued, running, succeeded, failed, cancelled

        public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
    }

    /// Where the finished job's webhook delivery stands.
    public enum WebhookStatus: String, Sendable {
        case pending, delivered, failed
    }

    public var id: String
    public var model: String
    /// The version the request named; `nil` means the newest serving one.
    public var version: String?
    public var status: Status
    public var created: Date
    public var started: Date?
    public var finished: Date?
    /// How many times the job has been handed to the scheduler; a server that
    /// stops while a job runs hands it over again after the restart.
    public var attempts: Int
    /// Why a job failed (or what cancelled it).
    public var error: FerryError?
    /// A queued job is not started before this time (set when it waits to retry).
    public var notBefore: Date?
    public var webhook: String?
    /// The credential that submitted the job ("" without authentication):
    /// only it, or one with the `jobs-admin` scope, sees the job.
    public var owner: String
    /// The submission's `Idempotency-Key`: the same owner sending it again gets this job.
    public var idempotencyKey: String?
    public var webhookStatus: WebhookStatus?
    public var webhookAttempts: Int
    /// The last delivery failure, kept for the job document.
    public var webhookError: String?

    public init(
        id: String, model: String, version: String?, created: Date, webhook: String?, owner: String = "", idempotencyKey: String? = nil
    ) {
        self.id = id
        self.model = model
        self.version = version
        self.status = .queued
        self.created = created
        self.attempts = 0
        self.webhook = webhook
        self.owner = owner
        self.idempotencyKey = idempotencyKey
        self.webhookAttempts = 0
    }

    /// Whose jobs a client may see.
    public enum Viewer: Sendable, Equatable {
        /// Every job: no authentication, or a credential with `jobs-admin`.
        case everyone
        /// The jobs this owner submitted.
        case owner(String)

        func sees(_ job: Job) -> Bool {
            switch self {
            case .everyone: true
            case .owner(let owner): job.owner == owner
            }
        }
    }
}
