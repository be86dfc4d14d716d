import FerryCore
import FerryImage
import Testing

@Suite("WWW-Authenticate challenges")
struct AuthenticationChallengeTests {
    @Test("a Bearer challenge as Docker Hub sends it")
    func bearer() {
        let challenges = AuthenticationChallenge.parse(
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#)
        #expect(challenges.count == 1)
        #expect(challenges[0].scheme == "bearer")
        #expect(challenges[0].realm == "https://auth.docker.io/token")
        #expect(challenges[0].service == "registry.docker.io")
        #expect(challenges[0].scopes == ["repository:library/ubuntu:pull"])
    }

    @Test("several challenges, unquoted and escaped values, case-insensitive names")
    func several() {
        let challenges = AuthenticationChallenge.parse(
            #"Basic realm="Registry \"x\"", Bearer Realm=https://t/token, error="insufficient_scope""#)
        #expect(challenges.map(\.scheme) == ["basic", "bearer"])
        #expect(challenges[0].realm == #"Registry "x""#)
        #expect(challenges[1].realm == "https://t/token")
        #expect(challenges[1].parameters["error"] == "insufficient_scope")
        #expect(AuthenticationChallenge.parse("").isEmpty)
    }

    @Test("a scope holding several repositories splits on spaces")
    func scopes() {
        let challenge = AuthenticationChallenge.parse(#"Bearer realm="r",scope="repository:a:pull repository:b:pull,push""#)[0]
        #expect(challenge.scopes == ["repository:a:pull", "repository:b:pull,push"])
    }
}

@Suite("registry URLs")
struct RegistryURLTests {
    @Test("a Location is absolute, host-relative or path-relative to the request URL")
    func locations() {
        let request = "http://127.0.0.1:5000/v2/team/app/blobs/uploads/"
        #expect(RegistryClient.resolve("https://s3.example.com/x?sig=1", against: request) == "https://s3.example.com/x?sig=1")
        #expect(
            RegistryClient.resolve("/v2/team/app/blobs/uploads/abc?_state=s", against: request)
                == "http://127.0.0.1:5000/v2/team/app/blobs/uploads/abc?_state=s")
        #expect(RegistryClient.resolve("abc", against: request) == "http://127.0.0.1:5000/v2/team/app/blobs/uploads/abc")
    }

    @Test("credentials in a git remote never reach the source label")
    func sourceLabel() {
        #expect(SourceRevision.withoutCredentials("https://user:token@github.com/team/app.git") == "https://github.com/team/app.git")
        #expect(SourceRevision.withoutCredentials("git@github.com:team/app.git") == "git@github.com:team/app.git")
        #expect(SourceRevision.withoutCredentials("https://github.com/team/app") == "https://github.com/team/app")
    }

    @Test("image references: registry, repository, tag or digest")
    func references() throws {
        let tagged = try ImageReference(parsing: "registry.example.com:5000/team/app:v1")
        #expect(tagged.registry == "registry.example.com:5000")
        #expect(tagged.repository == "team/app")
        #expect(tagged.reference == "v1")
        let latest = try ImageReference(parsing: "localhost/app")
        #expect(latest.reference == "latest")
        let pinned = try ImageReference(parsing: "ghcr.io/team/app@sha256:" + String(repeating: "a", count: 64))
        #expect(pinned.reference == "sha256:" + String(repeating: "a", count: 64))
        #expect(throws: FerryError.self) { try ImageReference(parsing: "app:v1") }
        #expect(throws: FerryError.self) { try ImageReference(parsing: "ghcr.io/Team/App:v1") }
    }
}
