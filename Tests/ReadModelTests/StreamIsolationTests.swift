import Foundation
import LedgerPostgres
@testable import ReadModelMongo
@testable import ReadModelMySQL
import ReadModelRedis
import ReadModelSupport
import Testing
import TokenLedger

/// A row belongs to one stream: streams whose ids look alike get rows of their own, a row found
/// where another stream's row would be is never served, and a token no key opens clears the
/// stored one, in every store.
@Suite(.serialized)
struct StreamIsolationTests {
    /// Two streams of two projects whose ids, joined with colons, read the same.
    static func collidingStreams() throws -> (StreamID, StreamID) {
        let tag = "rm\(UInt32.random(in: 0...UInt32.max))"
        return (
            try StreamID(project: tag, platform: "wechat", appid: "y:wechat:z"),
            try StreamID(project: "\(tag):wechat:y", platform: "wechat", appid: "z")
        )
    }

    @Test func redisKeysEncodeColonsAndPercentAndLeavePlainIdsAsTheyAre() throws {
        let (first, second) = try Self.collidingStreams()
        #expect(RedisReadModel.key(of: first) == "tokenledger:\(first.project):wechat:y%3Awechat%3Az")
        #expect(RedisReadModel.key(of: second) == "tokenledger:\(first.project)%3Awechat%3Ay:wechat:z")
        #expect(RedisReadModel.key(of: try StreamID(project: "demo", platform: "wechat", appid: "wx.A-b_c@d")) == "tokenledger:demo:wechat:wx.A-b_c@d")
    }

    /// Runs `body` with the model of `name`, emptied before and after, and the PostgreSQL log.
    static func withEmptyModel(_ name: String, _ body: @Sendable (any ReadModel, PostgresEventLog) async throws -> Void) async throws {
        let model = try await Stores.model(name)
        try await Stores.withLog { log in
            try await model.reset()
            try await body(model, log)
            try await model.reset()
        }
    }

    /// The tokens a replica whose memory has not caught up serves for `streams`, with `model` as
    /// its only tier, and how many of them came from `model`.
    static func served(_ streams: [StreamID], _ log: any EventLog, _ model: any ReadModel) async throws -> (tokens: [String], fromStore: Int) {
        let ledger = TieredReadTests.restartedLedger(log, tiers: [model])
        var tokens: [String] = []
        for stream in streams { tokens.append(try await ledger.reader.token(for: stream, secret: nil, context: CallContext()).token) }
        return (tokens, ledger.reader.reads(fromTier: model.name))
    }

    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func streamsWhoseIdsJoinAlikeKeepTheirOwnRowsAndTokens(_ name: String) async throws {
        try await Self.withEmptyModel(name) { model, log in
            let (first, second) = try Self.collidingStreams()
            try await Stores.issue(log, first, token: "token-of-first")
            try await Stores.issue(log, second, token: "token-of-second")
            try await StoreProjectorTests.projector(model, log).catchUp()

            #expect(try await model.row(of: first).row?.token == "token-of-first")
            #expect(try await model.row(of: second).row?.token == "token-of-second")
            #expect(try await model.snapshot().rows.filter { $0.stream == first || $0.stream == second }.count == 2)

            // A replica still catching up serves each stream its own token from the store.
            #expect(try await Self.served([first, second], log, model) == (["token-of-first", "token-of-second"], 2))
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func aRowFoundUnderAnotherStreamsKeyIsNeverServed(_ name: String) async throws {
        try await Self.withEmptyModel(name) { model, log in
            let stream = try Stores.stream("asked")
            try await Stores.issue(log, stream, token: "from-the-log")
            try Self.plant(name, at: stream, naming: try Stores.stream("stranger"), token: "not-yours")
            #expect(try await model.snapshot().foreign.count == 1, "the planted row is there")

            #expect(try await model.row(of: stream).row == nil)
            // The store is skipped: the log answers (its token is fresh, so no platform call).
            #expect(try await Self.served([stream], log, model) == (["from-the-log"], 0))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aTierThatAnswersWithAnotherStreamsRowIsNotServedFrom() async throws {
        try await Self.withEmptyModel("redis") { model, log in
            let (asked, other) = (try Stores.stream("asked"), try Stores.stream("other"))
            try await Stores.issue(log, asked, token: "from-the-log")
            try await Stores.issue(log, other, token: "token-of-other")
            try await StoreProjectorTests.projector(model, log).catchUp()
            let misrouted = Misrouted(model: model, answering: [asked: other])
            #expect(try await misrouted.row(of: asked).row?.token == "token-of-other")
            #expect(try await Self.served([asked], log, misrouted) == (["from-the-log"], 0))
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func aTokenNoKeyOpensClearsTheStoredToken(_ name: String) async throws {
        try await Self.withEmptyModel(name) { model, log in
            let stream = try Stores.stream("unreadable")
            try await Stores.issue(log, stream, token: "readable")
            let projector = StoreProjectorTests.projector(model, log)
            try await projector.catchUp()
            #expect(try await model.row(of: stream).row?.token == "readable")

            // A token sealed with a key this replica does not have (a key dropped too early).
            let gone = try Sealer(current: "gone", keys: ["gone": Sealer.generateKey()])
            let unreadable = try await Stores.issue(log, stream, token: "unreadable", sealer: gone)
            try await projector.catchUp()

            #expect(try await model.row(of: stream).row == ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: unreadable.position))
            let differences = try await projector.verify(wait: .seconds(1)).filter { $0.key == stream.description }
            #expect(differences.isEmpty, "\(differences)")
        }
    }

    /// Writes behind the model's back, where `stream`'s row would be, a row with a fresh `token`
    /// that names `other` (in MySQL, whose columns are the stream, the same ids padded with a
    /// space, which its PAD SPACE collation finds for `stream`).
    static func plant(_ name: String, at stream: StreamID, naming other: StreamID, token: String) throws {
        let expiresAt = Date().addingTimeInterval(3600).unixMilliseconds
        switch name {
        case "redis":
            try StoreProjectorTests.redisCLI([
                "HSET", RedisReadModel.key(of: stream), "stream", other.description, "position", "1",
                "token", token, "expires_at", "2099-01-01T00:00:00Z", "expires_at_ms", String(expiresAt),
            ])
        case "mysql":
            let url = try StoreURL(try Stores.url("mysql"), scheme: "mysql")
            let connection = try MySQLConnection(
                host: url.host, port: url.port ?? 3306, user: url.user ?? "root", password: url.password,
                database: url.path ?? "tokenledger", timeout: .seconds(2)
            )
            try connection.run(
                "INSERT INTO current_tokens (project, platform, appid, token, expires_at, position) VALUES (?, ?, ?, ?, FROM_UNIXTIME(? / 1000), 1)",
                [.text(stream.project), .text(stream.platform), .text(stream.appid + " "), .text(token), .integer(expiresAt)]
            )
        default:
            let connection = try MongoConnection(url: try Stores.url("mongo"), timeout: .seconds(2))
            _ = try connection.command(
                """
                {"insert": "current_tokens", "documents": [{"_id": \(MongoConnection.quoted(stream.description)),
                  "project": \(MongoConnection.quoted(other.project)), "platform": \(MongoConnection.quoted(other.platform)),
                  "appid": \(MongoConnection.quoted(other.appid)), "token": \(MongoConnection.quoted(token)),
                  "expires_at": {"$date": {"$numberLong": "\(expiresAt)"}}, "position": {"$numberLong": "1"}}]}
                """
            )
        }
    }
}

/// A real store whose reads answer some streams with another stream's row, as a store with a
/// shared key or a hand-written row would: what `Ledger`'s tiered read must not serve.
struct Misrouted: ReadModel {
    let model: any ReadModel
    let answering: [StreamID: StreamID]

    var name: String { model.name }
    func checkpoint() async throws -> Int64 { try await model.checkpoint() }
    func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws { try await model.apply(rows, checkpoint: checkpoint) }
    func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64) { try await model.row(of: answering[stream] ?? stream) }
    func snapshot() async throws -> ReadModelSnapshot { try await model.snapshot() }
    func reset() async throws { try await model.reset() }
    func prepare() async throws { try await model.prepare() }
    func shutdown() async { await model.shutdown() }
}
