import FerryCore
import FerrySecurity
import Foundation
import Testing

@Suite("The API keys file")
struct APIKeysTests {
    @Test("a key made by APIKeys.line is found by its key, with its scopes and rate limit; other keys are not")
    func roundTrip() throws {
        let text = """
            # name scopes digest [rate]
            \(APIKeys.line(name: "alice", scopes: [.infer, .metadata], key: "alice-secret"))
            \(APIKeys.line(name: "ops", scopes: Set(Scope.allCases), key: "ops-secret", rateLimit: RateLimit(perSecond: 5)))   # trailing comment

            """
        let keys = try APIKeys(text: text)
        #expect(keys.count == 2)
        let alice = try #require(keys.credential(for: "alice-secret"))
        #expect(alice.name == "alice" && alice.scopes == [.infer, .metadata] && alice.rateLimit == nil && alice.owner == "api-key:alice")
        let ops = try #require(keys.credential(for: "ops-secret"))
        #expect(ops.scopes == Set(Scope.allCases) && ops.rateLimit == RateLimit(perSecond: 5))
        #expect(keys.credential(for: "alice-secreT") == nil)
        #expect(keys.credential(for: "") == nil)
        #expect(!text.contains("alice-secret"), "the file holds digests only")
    }

    @Test("a malformed line is refused with its line number and without echoing key material")
    func errors() {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let cases: [(String, String)] = [
            ("alice infer", "line 1: expected 'NAME SCOPES sha256:DIGEST"),
            ("\nalice infer plain-key-text", "line 2: the third field must be sha256:"),
            ("alice infer sha256:abcd", "the third field must be sha256:"),
            ("alice infer sha256:" + String(repeating: "zz", count: 32), "the third field must be sha256:"),
            ("alice predict \(digest)", "unknown scope 'predict'"),
            ("al/ice infer \(digest)", "a key's name is letters"),
            ("alice infer \(digest)\nalice metadata sha256:" + String(repeating: "cd", count: 32), "line 2: the name 'alice' is used twice"),
            ("a infer \(digest)\nb infer \(digest)", "the same key is listed twice"),
            ("alice infer \(digest) rate=fast", "a rate limit is written like 200/s"),
            ("alice infer \(digest) burst=3", "unknown option 'burst=3'"),
        ]
        for (text, expected) in cases {
            #expect(throws: FerryError.self, "\(text)") { try APIKeys(text: text, file: "keys") }
            do {
                _ = try APIKeys(text: text, file: "keys")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
                #expect(!error.message.contains("plain-key-text"))
            }
        }
    }

    @Test("scopes read from a list, * for all, and name the known ones when wrong")
    func scopes() throws {
        #expect(try Scope.list("infer,metadata") == [.infer, .metadata])
        #expect(try Scope.list("jobs jobs-admin") == [.jobs, .jobsAdmin])
        #expect(try Scope.list("*") == Set(Scope.allCases))
        #expect(throws: FerryError.self) { try Scope.list("admin") }
    }
}

@Suite("Rate limits")
struct RateLimitTests {
    @Test("limits read as N/s or N/m, or none")
    func parsing() throws {
        #expect(try RateLimit("200/s").perSecond == 200)
        #expect(try RateLimit("120/m").perSecond == 2)
        #expect(try RateLimit("none") == .unlimited)
        #expect(try RateLimit("30/m").description == "30/m")
        #expect(try RateLimit("200/s").description == "200/s")
        for bad in ["200", "0/s", "-1/s", "x/s", "10/h", "inf/s", "nan/s"] {
            #expect(throws: FerryError.self, "\(bad)") { try RateLimit(bad) }
        }
    }

    @Test("a bucket lets a second's worth through at once, then the rate, per key")
    func bucket() {
        let limiter = RateLimiter()
        let limit = RateLimit(perSecond: 10)
        let start: UInt64 = 1_000_000_000_000
        let passed = (0..<15).filter { _ in limiter.take("a", limit: limit, now: start) == nil }.count
        #expect(passed == 10)
        let wait = limiter.take("a", limit: limit, now: start)
        #expect(wait != nil && abs(wait! - 0.1) < 1e-9, "one token in 0.1 s")
        #expect(limiter.take("b", limit: limit, now: start) == nil, "another key has its own bucket")
        // 0.5 s later five more have refilled.
        let later = start + 500_000_000
        #expect((0..<10).filter { _ in limiter.take("a", limit: limit, now: later) == nil }.count == 5)
        #expect(limiter.take("a", limit: .unlimited, now: later) == nil)
    }

    @Test("a client at twice the rate gets about half through over ten simulated seconds")
    func twiceTheRate() {
        let limiter = RateLimiter()
        let limit = RateLimit(perSecond: 50)
        var passed = 0
        let start: UInt64 = 5_000_000_000_000
        for i in 0..<1000 {  // 100 requests a second for 10 s
            if limiter.take("k", limit: limit, now: start + UInt64(i) * 10_000_000) == nil { passed += 1 }
        }
        // 50/s for 10 s plus the first second's burst.
        #expect((540...560).contains(passed), "\(passed)")
    }
}

@Suite("Files reloaded when they change")
struct WatchedFileTests {
    @Test("a change is read on the next look; a change that does not read keeps the previous value")
    func reload() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        try APIKeys.line(name: "first", scopes: [.infer], key: "k1").write(toFile: path, atomically: true, encoding: .utf8)
        let watched = try WatchedFile("keys", paths: [path], interval: .zero, logger: .init(label: "test")) { () throws(FerryError) in
            try APIKeys(file: path)
        }
        #expect(watched.current.credential(for: "k1")?.name == "first")
        // Replaced by a rename, as editors and Kubernetes do.
        try (APIKeys.line(name: "second", scopes: [.infer], key: "k2") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(watched.current.credential(for: "k2")?.name == "second")
        #expect(watched.current.credential(for: "k1") == nil, "the old key is gone")
        try "second infer sha256:half-written".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(watched.current.credential(for: "k2")?.name == "second", "kept")
        try FileManager.default.removeItem(atPath: path)
        #expect(watched.current.credential(for: "k2")?.name == "second", "kept while the file is gone")
        try APIKeys.line(name: "third", scopes: [.infer], key: "k3").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(watched.current.credential(for: "k3")?.name == "third")
    }

    @Test("a file that does not read at start is an error")
    func badAtStart() {
        #expect(throws: FerryError.self) {
            try WatchedFile("keys", paths: ["/nonexistent/keys"], logger: .init(label: "test")) { () throws(FerryError) in
                try APIKeys(file: "/nonexistent/keys")
            }
        }
    }
}
