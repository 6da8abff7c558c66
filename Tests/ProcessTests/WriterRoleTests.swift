import LedgerTestSupport
import Foundation
import PlatformSimulator
import Testing

/// `serve` as `tokenledger_writer` (read and append only), the owner having run `tokenledger migrate`.
@Suite(.serialized)
struct WriterRoleTests {
    /// `url` with the writer as its user (trust authentication on the test server: no password),
    /// and `database` as its database when given.
    static func asWriter(_ url: String, database: String? = nil) throws -> String {
        var components = try #require(URLComponents(string: url))
        components.user = "tokenledger_writer"
        components.password = nil
        if let database { components.path = "/" + database }
        return try #require(components.string)
    }

    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "tokenledger-writer-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test(.timeLimit(.minutes(2)))
    func serveRunsAsTheWriterOnceTheOwnerMigrated() async throws {
        let owner = try TestLogs.postgresURL()
        let key = TestEnvironment.secretsKey()
        let migrated = try Command.run(["migrate"], folder: try Self.folder(), environment: ["EVENTLOG_URL": owner, "SECRETS_KEY": key])
        #expect(migrated.status == 0, "\(migrated.output)")
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxwriter", secret: "S1")
            let server = try await ServerProcess.start(
                port: try TestEnvironment.freePort(),
                environment: ["EVENTLOG_URL": try Self.asWriter(owner), "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL, "SECRETS_KEY": key],
                name: "writer"
            )
            defer { server.stop() }
            let app = server.baseURL + "/token/\(uniqueProject("writer"))/wechat/wxwriter"
            let first = try await HTTP.envelope("GET", app + "?secret=S1")
            #expect(first.status == 200, "registered and fetched as the writer: \(first.envelope.error)")
            let renewed = try await HTTP.envelope("PUT", app)
            #expect(renewed.status == 200, "\(renewed.envelope.error)")
            #expect(renewed.envelope.data != first.envelope.data, "a forced refresh appended a new token")
            #expect(try await HTTP.envelope("GET", app).envelope.data == renewed.envelope.data)
            let (_, history) = try await HTTP.request("GET", app + "/history")
            #expect(history.components(separatedBy: "token.issued").count - 1 == 2, "\(history)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func serveAsTheWriterOnAnUnmigratedDatabaseSaysToRunMigrate() async throws {
        let owner = try TestLogs.postgresURL()
        let database = "tl_unmigrated_\(UInt32.random(in: 0...UInt32.max))"
        // The writer role exists once the shared database is migrated; this new database has no schema.
        _ = try Command.run(["migrate"], folder: try Self.folder(), environment: ["EVENTLOG_URL": owner])
        _ = try Command.output("/usr/bin/psql", [owner, "-c", "CREATE DATABASE \(database)"])
        defer { _ = try? Command.output("/usr/bin/psql", [owner, "-c", "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"]) }
        let result = try await Command.runToExit(
            ["serve"],
            folder: try Self.folder(),
            environment: [
                "EVENTLOG_URL": try Self.asWriter(owner, database: database),
                "HTTP_PORT": String(try TestEnvironment.freePort()),
                "SECRETS_KEY": TestEnvironment.secretsKey(),
            ]
        )
        let (status, message) = try #require(result, "serve as the writer started on a database without the schema")
        #expect(status != 0)
        #expect(message.contains("run `tokenledger migrate` as the owner of token_events"), "\(message)")
        #expect(message.contains("tokenledger_writer cannot apply them"), "\(message)")
    }
}
