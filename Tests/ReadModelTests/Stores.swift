import LedgerTestSupport
import Foundation
import LedgerPostgres
import Logging
import ReadModelMongo
import ReadModelMySQL
import ReadModelRedis
import Testing
import TokenLedger

/// The real servers tools/test starts, and the read models over them.
enum Stores {
    static let names = ["redis", "mysql", "mongo"]

    static func url(_ name: String) throws -> String {
        let variable = "TOKENLEDGER_TEST_\(name.uppercased())_URL"
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            Issue.record("\(variable) is not set: run the tests with tools/test, which starts the servers")
            throw CancellationError()
        }
        return url
    }

    /// A model of `name` over `url`; over the test server's by default, prepared (tables and indexes made).
    static func model(_ name: String, url: String? = nil, node: String = "test", timeout: Duration = .seconds(2)) async throws -> any ReadModel {
        let prepare = url == nil
        let url = try url ?? Self.url(name)
        let model: any ReadModel
        switch name {
        case "redis": model = try RedisReadModel(url: url, node: node, timeout: timeout)
        case "mysql": model = try MySQLReadModel(url: url, node: node, timeout: timeout)
        default: model = try MongoReadModel(url: url, node: node, timeout: timeout)
        }
        if prepare { try await model.prepare() }
        return model
    }

    /// The test URL of `name` with its port replaced (to go through a proxy).
    static func url(_ name: String, port: Int) throws -> String {
        var components = try #require(URLComponents(string: try url(name)))
        components.port = port
        return try #require(components.string)
    }

    static func port(_ name: String) throws -> Int {
        try #require(URLComponents(string: try url(name))?.port)
    }

    static func postgresURL() throws -> String { try TestLogs.postgresURL() }

    /// Runs `body` with the migrated PostgreSQL log, its pool running.
    static func withLog<T: Sendable>(_ body: @Sendable (PostgresEventLog) async throws -> T) async throws -> T {
        try await TestLogs.withPostgres(body)
    }

    static let sealer = try! Sealer(current: "rm", keys: ["rm": Sealer.generateKey()])

    /// A stream with every character a stream id may hold that Redis, SQL or BSON treat specially.
    static func stream(_ tag: String = "") throws -> StreamID {
        try StreamID(project: "rm\(UInt32.random(in: 0...UInt32.max))\(tag)", platform: "wechat", appid: "wx.A:b@c-d_E")
    }

    /// Appends a token to `stream` at its next version, sealed by `sealer` (the tests' own by default).
    @discardableResult
    static func issue(
        _ log: any EventLog,
        _ stream: StreamID,
        token: String,
        expiresIn: TimeInterval = 7200,
        sealer: Sealer = Stores.sealer
    ) async throws -> RecordedEvent {
        let version = try await log.read(stream: stream, afterVersion: 0, limit: 10_000).last?.version ?? 0
        let payload = TokenIssued(token: try sealer.seal(token, for: stream, as: .token), expiresAt: Date().addingTimeInterval(expiresIn), reason: .miss, upstreamLatencyMs: 1)
        return try await log.append([try NewEvent(payload, metadata: EventMetadata(node: "test"))], to: stream, expectedVersion: version).last!
    }

    /// Appends a revocation to `stream`.
    static func revoke(_ log: any EventLog, _ stream: StreamID) async throws {
        let version = try await log.read(stream: stream, afterVersion: 0, limit: 10_000).last?.version ?? 0
        _ = try await log.append([try NewEvent(TokenRevoked(reason: "test"), metadata: EventMetadata(node: "test"))], to: stream, expectedVersion: version)
    }
}

