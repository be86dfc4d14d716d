import FerryPostgres
import Testing

struct PostgresConfigurationTests {
    @Test func readsALibpqURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://ferry@db.example:6543/jobs?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3&application_name=ferry-a")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.user == "ferry")
        #expect(configuration.database == "jobs")
        #expect(configuration.tlsMode == .verifyFull)
        #expect(configuration.rootCertificatePath == "/etc/ca.pem")
        #expect(configuration.connectTimeout == .seconds(3))
        #expect(configuration.applicationName == "ferry-a")
        #expect(configuration.password == nil)
    }

    @Test func defaultsAsLibpqDoes() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://app%40x@[::1]/my%20db")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 5432)
        #expect(configuration.user == "app@x")
        #expect(configuration.database == "my db")
        #expect(configuration.tlsMode == .prefer)
        #expect(configuration.displayURL == "postgres://app@x@[::1]:5432/my db?sslmode=prefer")
    }

    @Test(arguments: [
        ("postgres://ferry:secret@host/db", "password"),
        ("postgres://host/db", "no user"),
        ("postgres://ferry@/db", "no host"),
        ("postgres://ferry@host", "no database"),
        ("postgres://ferry@host:99999/db", "port"),
        ("postgres://ferry@host/db?sslmode=always", "sslmode must be one of"),
        ("postgres://ferry@host/db?pool=4", "'pool' is not one Ferry reads"),
        ("mysql://ferry@host/db", "postgres://"),
    ])
    func refusesWhatItCannotUse(url: String, reason: String) {
        #expect {
            _ = try PostgresConfiguration(url: url)
        } throws: { error in
            let error = error as? PostgresError
            return error?.kind == .configuration && error?.message.contains(reason) == true && error?.message.contains("secret") == false
        }
    }
}
