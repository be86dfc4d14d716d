import FerryCore
import FerrySecurity
import Foundation
import Testing

@Suite("Access control decisions")
struct AccessControlTests {
    /// An access control reading a keys file with `lines` (removed once read: the keys stay).
    func access(_ lines: [String], settings: AccessSettings = AccessSettings()) throws -> AccessControl {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var settings = settings
        settings.apiKeysFile = path
        return try AccessControl(settings, logger: .init(label: "test"))
    }

    /// Whether the request passed (with a credential or, without authentication, none).
    func passes(_ result: Result<Credential?, AccessRefusal>) -> Bool {
        if case .success = result { return true }
        return false
    }

    func refusal(_ result: Result<Credential?, AccessRefusal>) -> AccessRefusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test("without a keys file every request passes, unless a rate limit per address is set")
    func open() throws {
        let access = try AccessControl(AccessSettings(), logger: .init(label: "test"))
        #expect(!access.isActive)
        #expect(try access.check(scope: .repository, authorization: nil, client: "10.0.0.1").get() == nil)
        let limited = try AccessControl(AccessSettings(rateLimit: RateLimit(perSecond: 1)), logger: .init(label: "test"))
        #expect(limited.isActive && !limited.authenticates)
        #expect(passes(limited.check(scope: .infer, authorization: nil, client: "10.0.0.1")))
        let refused = refusal(limited.check(scope: .infer, authorization: nil, client: "10.0.0.1"))
        #expect(refused?.error.code == .rateLimited && refused?.retryAfter == 1)
        #expect(passes(limited.check(scope: .infer, authorization: nil, client: "10.0.0.2")), "per address")
        #expect(passes(limited.check(scope: .health, authorization: nil, client: "10.0.0.1")), "probes are not limited")
    }

    @Test("401 without a valid key, 403 without the scope, the credential when both hold")
    func decisions() throws {
        do {
            let access = try access([
                APIKeys.line(name: "alice", scopes: [.infer, .metadata], key: "alice-key"),
                APIKeys.line(name: "ops", scopes: Set(Scope.allCases), key: "ops-key"),
            ])
            for header in [nil, "", "Bearer", "Bearer ", "Basic YWxpY2U6a2V5", "alice-key", "Bearer wrong-key", "Bearer alice-key2"] {
                let refused = refusal(access.check(scope: .infer, authorization: header, client: nil))
                #expect(refused?.error.code == .unauthenticated, "\(header ?? "nil")")
                #expect(refused?.challenge?.hasPrefix("Bearer realm=\"ferry\"") == true)
                #expect(refused?.error.message.contains("alice-key") == false, "no key in the message")
            }
            #expect(try access.check(scope: .infer, authorization: "Bearer alice-key", client: nil).get()?.name == "alice")
            #expect(try access.check(scope: .infer, authorization: "bearer alice-key", client: nil).get()?.name == "alice")
            let forbidden = refusal(access.check(scope: .repository, authorization: "Bearer alice-key", client: nil))
            #expect(forbidden?.error.code == .permissionDenied)
            #expect(forbidden?.challenge?.contains("insufficient_scope") == true && forbidden?.challenge?.contains("scope=\"repository\"") == true)
            #expect(try access.check(scope: .repository, authorization: "Bearer ops-key", client: nil).get()?.name == "ops")
            // An unknown path needs a valid credential, then any will do (the router answers 404).
            #expect(refusal(access.check(scope: nil, authorization: nil, client: nil))?.error.code == .unauthenticated)
            #expect(try access.check(scope: nil, authorization: "Bearer alice-key", client: nil).get()?.name == "alice")
            // Health is open unless protected.
            #expect(try access.check(scope: .health, authorization: nil, client: nil).get() == nil)
        }
    }

    @Test("--protect-health closes health checks to credentials without the scope")
    func protectedHealth() throws {
        do {
            let access = try access(
                [APIKeys.line(name: "probe", scopes: [.health], key: "probe-key"), APIKeys.line(name: "alice", scopes: [.infer], key: "alice-key")],
                settings: AccessSettings(protectHealth: true))
            #expect(refusal(access.check(scope: .health, authorization: nil, client: nil))?.error.code == .unauthenticated)
            #expect(refusal(access.check(scope: .health, authorization: "Bearer alice-key", client: nil))?.error.code == .permissionDenied)
            #expect(try access.check(scope: .health, authorization: "Bearer probe-key", client: nil).get()?.name == "probe")
        }
    }

    @Test("each credential has its own bucket, at the server's limit or its own")
    func rateLimits() throws {
        do {
            let access = try access(
                [
                    APIKeys.line(name: "a", scopes: [.infer], key: "a-key"),
                    APIKeys.line(name: "b", scopes: [.infer], key: "b-key", rateLimit: RateLimit(perSecond: 5)),
                    APIKeys.line(name: "c", scopes: [.infer], key: "c-key", rateLimit: .unlimited),
                ],
                settings: AccessSettings(rateLimit: RateLimit(perSecond: 2)))
            func passed(_ key: String, _ count: Int) -> Int {
                (0..<count).filter { _ in passes(access.check(scope: .infer, authorization: "Bearer \(key)", client: nil)) }.count
            }
            #expect(passed("a-key", 10) == 2)
            #expect(passed("b-key", 10) == 5)
            #expect(passed("c-key", 1000) == 1000)
            let refused = refusal(access.check(scope: .infer, authorization: "Bearer a-key", client: nil))
            #expect(refused?.error.code == .rateLimited && refused?.error.httpStatus == 429 && refused?.error.grpcStatusCode == 8)
            #expect(refused?.error.message.contains("'a'") == true)
        }
    }
}
