import Foundation
import LedgerTestSupport
@testable import ReadModelMySQL
@testable import ReadModelRedis
import ReadModelSupport
import Testing
import TokenLedger

/// How a page of rows gets into a store: a page at once, newer rows only, tombstones, pages over
/// a statement's size, concurrent writers, and a store lost in the middle of a page.
@Suite(.serialized)
struct PageWriteTests {
    static let expiry = ReadModelConformanceTests.expiry

    static func token(_ stream: StreamID, _ text: String, _ position: Int64) -> ReadModelRow {
        ReadModelRow(stream: stream, token: text, expiresAt: expiry, position: position)
    }

    static func tombstone(_ stream: StreamID, _ position: Int64) -> ReadModelRow {
        ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: position)
    }

    /// Every row of `streams` as the model holds it.
    static func rows(_ model: any ReadModel, _ streams: [StreamID]) async throws -> [ReadModelRow?] {
        var rows: [ReadModelRow?] = []
        for stream in streams { rows.append(try await model.row(of: stream).row) }
        return rows
    }

    @Test(arguments: Stores.names)
    func aPageMixingNewerAndOlderRowsWritesOnlyTheNewerOnes(_ name: String) async throws {
        let model = try await Stores.model(name)
        try await model.reset()
        let streams = try (0..<6).map { try Stores.stream("mix\($0)") }
        try await model.apply((0..<5).map { Self.token(streams[$0], "stored-\($0)", 100) }, checkpoint: 100)
        try await model.apply([Self.tombstone(streams[4], 101)], checkpoint: 101)
        try await model.apply(
            [
                Self.token(streams[0], "newer", 110),
                Self.token(streams[1], "older", 90),
                Self.tombstone(streams[2], 111),
                Self.tombstone(streams[3], 95),
                Self.token(streams[4], "over-a-tombstone", 112),
                Self.token(streams[5], "new-stream", 113),
            ],
            checkpoint: 113
        )
        #expect(
            try await Self.rows(model, streams) == [
                Self.token(streams[0], "newer", 110),
                Self.token(streams[1], "stored-1", 100),
                Self.tombstone(streams[2], 111),
                Self.token(streams[3], "stored-3", 100),
                Self.token(streams[4], "over-a-tombstone", 112),
                Self.token(streams[5], "new-stream", 113),
            ]
        )
        #expect(try await model.checkpoint() == 113)
        // The same page again, and an older checkpoint: nothing moves.
        try await model.apply([Self.token(streams[0], "replayed", 110), Self.tombstone(streams[5], 50)], checkpoint: 105)
        #expect(try await model.row(of: streams[0]).row == Self.token(streams[0], "newer", 110))
        #expect(try await model.row(of: streams[5]).row == Self.token(streams[5], "new-stream", 113))
        #expect(try await model.checkpoint() == 113)
        #expect(try await model.snapshot().foreign.isEmpty)
        try await model.reset()
    }

    @Test(arguments: Stores.names)
    func aPageOfTombstonesClearsEveryTokenAndNewerTokensComeBack(_ name: String) async throws {
        let model = try await Stores.model(name)
        try await model.reset()
        let streams = try (0..<4).map { try Stores.stream("tomb\($0)") }
        try await model.apply(streams.enumerated().map { Self.token($1, "t\($0)", 10 + Int64($0)) }, checkpoint: 13)
        try await model.apply(streams.enumerated().map { Self.tombstone($1, 20 + Int64($0)) }, checkpoint: 23)
        #expect(try await Self.rows(model, streams) == streams.enumerated().map { Self.tombstone($1, 20 + Int64($0)) })
        if name == "redis" {
            // A tombstone keeps no token field and no expiry of the token it replaced.
            for stream in streams {
                #expect(try Self.redisCLI(["HEXISTS", RedisReadModel.key(of: stream), "token"]) == "0")
                #expect(try Self.redisCLI(["PTTL", RedisReadModel.key(of: stream)]) == "-1")
            }
        }
        try await model.apply(streams.enumerated().map { Self.token($1, "back\($0)", 30 + Int64($0)) }, checkpoint: 33)
        #expect(try await Self.rows(model, streams) == streams.enumerated().map { Self.token($1, "back\($0)", 30 + Int64($0)) })
        if name == "redis" {
            for stream in streams {
                #expect(try Self.redisCLI(["HEXISTS", RedisReadModel.key(of: stream), "removed"]) == "0")
                #expect(Int(try Self.redisCLI(["PTTL", RedisReadModel.key(of: stream)])) ?? 0 > 0, "a token row expires with its token")
            }
        }
        try await model.reset()
    }

    /// A page of 2,500 rows (over MySQL's 1,000 rows an upsert), and in MySQL a page cut into
    /// upserts of 7 rows and of 2 KB of values, written whole: every row and the checkpoint.
    @Test(arguments: ["redis", "mysql", "mysql-small"])
    func aPageOverAStatementsSizeIsWrittenWhole(_ name: String) async throws {
        let model: any ReadModel
        if name == "mysql-small" {
            model = try MySQLReadModel(url: try Stores.url("mysql"), node: "test", rowsPerStatement: 7, bytesPerStatement: 2048)
        } else {
            model = try await Stores.model(name)
        }
        try await model.prepare()
        try await model.reset()
        let count = name == "mysql-small" ? 120 : 2500
        let project = try Stores.stream().project
        let streams = try (0..<count).map { try StreamID(project: project, platform: "wechat", appid: "wx\($0)") }
        let older = streams.enumerated().map { Self.token($1, "older-\($0)", Int64($0) + 1) }
        try await model.apply(Array(older[0..<(count / 2)]), checkpoint: Int64(count / 2))
        // Every other row newer than the stored one, the others older; the second half is new.
        let page = streams.enumerated().map { index, stream in
            Self.token(stream, "page-\(index)-\(String(repeating: "x", count: 40))", index < count / 2 && index % 2 == 1 ? 0 : Int64(count + index))
        }
        try await model.apply(page, checkpoint: Int64(2 * count))
        let expected = streams.indices.map { index in index < count / 2 && index % 2 == 1 ? older[index] : page[index] }
        let snapshot = try await model.snapshot()
        #expect(snapshot.checkpoint == Int64(2 * count))
        let stored = Dictionary(snapshot.rows.filter { $0.stream.project == project }.map { ($0.stream, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(stored.count == count)
        #expect(streams.indices.filter { stored[streams[$0]] != expected[$0] }.isEmpty)
        try await model.reset()
        await model.shutdown()
    }

    /// MySQL: a page written in several upserts whose last one the server refuses (a token over
    /// `TEXT`'s 65,535 bytes) is rolled back whole: no row of it, the checkpoint where it was.
    @Test func aPageRefusedInItsLastUpsertLeavesNoRowAndTheCheckpointWhereItWas() async throws {
        let model = try MySQLReadModel(url: try Stores.url("mysql"), node: "test", rowsPerStatement: 5, bytesPerStatement: 1024)
        try await model.prepare()
        try await model.reset()
        let streams = try (0..<40).map { try Stores.stream("refused\($0)") }
        try await model.apply([Self.token(streams[0], "before", 5)], checkpoint: 5)
        var page = streams.enumerated().map { Self.token($1, "page-\($0)", 10 + Int64($0)) }
        page[39].token = String(repeating: "t", count: 70_000)
        await #expect {
            try await model.apply(page, checkpoint: 49)
        } throws: { error in
            (error as? LedgerError)?.code == .storeUnavailable
        }
        #expect(try await model.checkpoint() == 5)
        #expect(try await model.row(of: streams[0]).row == Self.token(streams[0], "before", 5))
        #expect(try await Self.rows(model, Array(streams[1...])).allSatisfy { $0 == nil })
        try await model.reset()
        await model.shutdown()
    }

    /// The store goes away while a page is on its way: `storeUnavailable`, and once it is back the
    /// checkpoint has not moved and no row of the page is there.
    @Test(.timeLimit(.minutes(1)), arguments: Stores.names)
    func aStoreLostInTheMiddleOfAPageIsUnavailableAndTheCheckpointDoesNotMove(_ name: String) async throws {
        let direct = try await Stores.model(name)
        try await direct.reset()
        let proxy = try TCPProxy(to: try Stores.port(name))
        let model = try await Stores.model(name, url: try Stores.url(name, port: proxy.port), timeout: .milliseconds(500))
        let streams = try (0..<2000).map { try Stores.stream("lost\($0)") }
        try await model.apply([Self.token(streams[0], "before", 5)], checkpoint: 5)
        // Paused, the proxy holds what it has read of the page; cut, it drops the connection.
        proxy.pause()
        let page = streams.enumerated().map { Self.token($1, "page-\($0)-\(String(repeating: "y", count: 200))", 10 + Int64($0)) }
        let writing = Task { try await model.apply(page, checkpoint: 2009) }
        try await Task.sleep(for: .milliseconds(200))
        proxy.cut()
        await #expect {
            try await writing.value
        } throws: { error in
            (error as? LedgerError)?.code == .storeUnavailable
        }
        #expect(try await direct.checkpoint() == 5)
        #expect(try await direct.row(of: streams[0]).row == Self.token(streams[0], "before", 5))
        #expect(try await direct.snapshot().rows.filter { $0.token?.hasPrefix("page-") == true }.isEmpty)
        try await direct.reset()
    }

    /// Redis: two writers with interleaved pages over the same streams (a leader handing over while
    /// the old one still writes): each stream ends with its newest row, the checkpoint with the
    /// highest (a page read before another writer's commit is read again).
    @Test(.timeLimit(.minutes(1)))
    func concurrentRedisWritersLeaveEveryStreamsNewestRow() async throws {
        let first = try await Stores.model("redis")
        let second = try await Stores.model("redis")
        try await first.reset()
        let streams = try (0..<50).map { try Stores.stream("race\($0)") }
        // Writer w writes pages p = w, w + 2, …; page p holds every stream at position p * 100 + index.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (writer, model) in [first, second].enumerated() {
                group.addTask {
                    for page in stride(from: writer, to: 40, by: 2).reversed() {
                        let rows = streams.enumerated().map { Self.token($1, "p\(page)-\($0)", Int64(page * 100 + $0 + 1)) }
                        try await model.apply(rows, checkpoint: Int64(page * 100 + streams.count))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await Self.rows(first, streams) == streams.enumerated().map { Self.token($1, "p39-\($0)", Int64(3900 + $0 + 1)) })
        #expect(try await first.checkpoint() == 3900 + Int64(streams.count))
        try await first.reset()
    }

    @Test func redisExpiryTimesAreWrittenAsFoundationWritesThem() {
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 951_782_400.001), Date(timeIntervalSince1970: 4_102_444_799.999)]
        for _ in 0..<500 { dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: 0..<253_402_300_799_000)) / 1000)) }
        for date in dates {
            let milliseconds = date.unixMilliseconds
            // Foundation truncates to the millisecond, and a millisecond's `Date` may fall a hair
            // before it: it is given one a tenth of a millisecond in.
            let exact = Date(timeIntervalSince1970: (Double(milliseconds) + 0.1) / 1000)
            let foundation = exact.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
            #expect(RedisReadModel.iso8601(milliseconds: milliseconds) == foundation, "\(milliseconds)")
        }
    }

    static func redisCLI(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(try Stores.port("redis"))] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
