import Foundation
import Testing
import TokenLedger

/// What every shared read model guarantees, checked the same way against Redis, MariaDB and the
/// MongoDB-protocol server.
@Suite(.serialized)
struct ReadModelConformanceTests {
    static let expiry = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded(.down) + 0.123)

    @Test(arguments: Stores.names)
    func rowsAreStoredAndReadBackExactlyIncludingSpecialCharacters(_ name: String) async throws {
        let model = try await Stores.model(name)
        let stream = try Stores.stream()
        let token = #"tok'en"; DROP TABLE x;-- \" $set.{"a":1} \n 令牌 *?[]"#
        let base = try await model.checkpoint()
        try await model.apply([ReadModelRow(stream: stream, token: token, expiresAt: Self.expiry, position: base + 10)], checkpoint: base + 10)
        let (row, checkpoint) = try await model.row(of: stream)
        #expect(row == ReadModelRow(stream: stream, token: token, expiresAt: Self.expiry, position: base + 10))
        #expect(checkpoint == base + 10)
        let other = try StreamID(project: stream.project, platform: "wechat", appid: "WX.a:B@C-D_e")
        #expect(try await model.row(of: other).row == nil, "ids differ by case only: another stream")
        try await model.reset()  // no checkpoint ahead of the log for the projector tests
    }

    @Test(arguments: Stores.names)
    func olderPositionsNeverReplaceNewerOnesAndTheCheckpointOnlyGrows(_ name: String) async throws {
        let model = try await Stores.model(name)
        let stream = try Stores.stream()
        let base = try await model.checkpoint() + 100
        let newer = ReadModelRow(stream: stream, token: "new", expiresAt: Self.expiry, position: base + 5)
        try await model.apply([newer], checkpoint: base + 5)
        // A replay of older events over the live model, and the same write twice.
        try await model.apply([ReadModelRow(stream: stream, token: "old", expiresAt: Self.expiry, position: base + 2)], checkpoint: base + 2)
        try await model.apply([newer], checkpoint: base + 5)
        let (row, checkpoint) = try await model.row(of: stream)
        #expect(row == newer)
        #expect(checkpoint == base + 5)
        // A revocation leaves a tombstone that an older token cannot overwrite.
        try await model.apply([ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: base + 7)], checkpoint: base + 7)
        try await model.apply([newer], checkpoint: base + 5)
        #expect(try await model.row(of: stream).row == ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: base + 7))
        try await model.reset()
    }

    @Test(arguments: Stores.names)
    func snapshotListsRowsAndResetEmptiesTheModel(_ name: String) async throws {
        let model = try await Stores.model(name)
        let streams = try (0..<3).map { try Stores.stream("s\($0)") }
        let base = try await model.checkpoint() + 10
        try await model.apply(
            streams.enumerated().map { ReadModelRow(stream: $1, token: "t\($0)", expiresAt: Self.expiry, position: base + Int64($0)) },
            checkpoint: base + 2
        )
        let snapshot = try await model.snapshot()
        #expect(snapshot.checkpoint == base + 2)
        for stream in streams { #expect(snapshot.rows.contains { $0.stream == stream }) }
        try await model.reset()
        let empty = try await model.snapshot()
        #expect(empty.checkpoint == 0)
        #expect(empty.rows.isEmpty)
        #expect(empty.foreign.isEmpty)
    }

    @Test(arguments: Stores.names)
    func anUnreachableStoreIsAClearErrorWithinItsTimeout(_ name: String) async throws {
        let model = try await Stores.model(name, url: try Stores.url(name, port: 1), timeout: .milliseconds(500))
        let started = ContinuousClock.now
        await #expect {
            _ = try await model.checkpoint()
        } throws: { error in
            (error as? LedgerError)?.code == .storeUnavailable && String(reflecting: error).contains(name == "mongo" ? "MongoDB" : name == "mysql" ? "MySQL" : "Redis")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}

/// Redis users of the ACL (Redis 6+): the URL's user and password authenticate.
@Suite(.serialized)
struct RedisAuthenticationTests {
    @Test func aUserAndPasswordInTheURLAuthenticateAndAWrongOneIsAClearError() async throws {
        let port = try Stores.port("redis")
        try StoreProjectorTests.redisCLI(["ACL", "SETUSER", "ledger", "on", ">s3cret:@", "~*", "+@all"])
        let model = try await Stores.model("redis", url: "redis://ledger:s3cret%3A%40@127.0.0.1:\(port)/0")
        let stream = try Stores.stream("acl")
        let checkpoint = try await model.checkpoint()
        try await model.apply([ReadModelRow(stream: stream, token: "t", expiresAt: Date().addingTimeInterval(60), position: checkpoint + 1)], checkpoint: checkpoint + 1)
        #expect(try await model.row(of: stream).row?.token == "t")
        try await model.reset()

        let wrong = try await Stores.model("redis", url: "redis://ledger:nope@127.0.0.1:\(port)/0")
        await #expect {
            _ = try await wrong.checkpoint()
        } throws: { error in
            (error as? LedgerError)?.code == .storeUnavailable && String(reflecting: error).contains("WRONGPASS") && !String(reflecting: error).contains("nope")
        }
    }
}
