#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ReadModelSupport
public import TokenLedger

/// The Redis read model: one hash per stream at `tokenledger:{project}:{platform}:{appid}` (each
/// id with `%` and `:` percent-encoded, see `key(of:)`) with
/// `token`, `expires_at` (ISO 8601), `expires_at_ms`, `position` and `stream`, expiring with the
/// token, so that any program can `HGET` it; the checkpoint in the hash `tokenledger:checkpoint`.
///
/// A page is written in two round trips (see `RedisPageWrite`): the stored positions read under
/// `WATCH` of the checkpoint, then one `MULTI`/`EXEC` with the rows that are newer and the
/// checkpoint, so that rows and checkpoint change together, a row only for a newer position, the
/// checkpoint only upwards.
public final class RedisReadModel: ReadModel {
    public let name = "redis"
    /// The key of the checkpoint hash (it has one colon; a stream's key has exactly three).
    public static let checkpointKey = "tokenledger:checkpoint"
    private let pool: BlockingPool<RedisConnection>
    private let node: String

    /// Connects lazily to `url` (`redis://[[user]:password@]host[:port][/db]`; no TLS), with `timeout` on every
    /// call and up to `poolSize` connections. `node` is recorded in the checkpoint hash.
    public init(url: String, node: String, timeout: Duration = .seconds(2), poolSize: Int = 4) throws {
        let parsed = try StoreURL(url, scheme: "redis")
        let port = parsed.port ?? 6379
        guard let database = parsed.path.map({ Int($0) }) ?? 0 else {
            throw StoreURLError(text: url, reason: "the path must be a database number")
        }
        self.node = node
        pool = BlockingPool(size: poolSize, store: "Redis") {
            try RedisConnection(host: parsed.host, port: port, user: parsed.user, password: parsed.password, database: database, timeout: timeout)
        }
    }

    /// The key of `stream`. Ids may hold `:`, so each is written with `%` as `%25` and `:` as
    /// `%3A`: the key's three separators are then its only colons and two streams never share a
    /// key (`a/b:c/d` and `a:b/c/d` would otherwise both be `tokenledger:a:b:c:d`), while an id
    /// without those characters, as nearly all are, is written as it is.
    public static func key(of stream: StreamID) -> String {
        "tokenledger:\(keyPart(stream.project)):\(keyPart(stream.platform)):\(keyPart(stream.appid))"
    }

    private static func keyPart(_ id: String) -> String {
        guard id.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: ":") }) else { return id }
        return id.replacing("%", with: "%25").replacing(":", with: "%3A")
    }

    public func checkpoint() async throws -> Int64 {
        try await call("read the checkpoint") { connection in
            Self.position(try connection.command(["HGET", Self.checkpointKey, "position"]))
        }
    }

    public func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws {
        let node = self.node
        try await call("apply") { connection in
            for _ in 0..<Self.attempts {
                if try RedisPageWrite(rows: rows, checkpoint: checkpoint, node: node).run(on: connection) { return }
            }
            throw RedisFailure(description: "Redis: another writer changed the checkpoint \(Self.attempts) times while a page was written")
        }
    }

    /// Times a page is tried again after another writer committed between its read and its write.
    private static let attempts = 32

    public func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64) {
        try await call("read a token") { connection in
            let replies = try connection.pipeline([["HGETALL", Self.key(of: stream)], ["HGET", Self.checkpointKey, "position"]])
            let row = (try? Self.row(from: replies[0], key: Self.key(of: stream)))?.belonging(to: stream)
            return (row, Self.position(replies[1]))
        }
    }

    public func snapshot() async throws -> ReadModelSnapshot {
        try await call("read everything") { connection in
            var snapshot = ReadModelSnapshot(checkpoint: Self.position(try connection.command(["HGET", Self.checkpointKey, "position"])), rows: [])
            for keys in try Self.scan(connection) {
                let replies = try connection.pipeline(keys.map { ["HGETALL", $0] })
                for (key, reply) in zip(keys, replies) {
                    do {
                        if let row = try Self.row(from: reply, key: key) { snapshot.rows.append(row) }
                    } catch {
                        snapshot.foreign.append((key, LedgerError.explain(error)))
                    }
                }
            }
            return snapshot
        }
    }

    public func reset() async throws {
        _ = try await call("reset") { connection in
            for keys in try Self.scan(connection) {
                try connection.check(try connection.command(["DEL"] + keys))
            }
            try connection.check(try connection.command(["DEL", Self.checkpointKey]))
        }
    }

    public func shutdown() async {
        await pool.shutdown()
    }

    /// Connecting is lazy: reading the checkpoint proves the server answers.
    public func prepare() async throws {
        _ = try await checkpoint()
    }

    private func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await pool.withConnection(what, body)
    }

    /// Every key of a stream, in batches (SCAN: never blocks the server like KEYS would).
    private static func scan(_ connection: RedisConnection) throws -> [[String]] {
        var cursor = "0"
        var batches: [[String]] = []
        repeat {
            guard case .array(let parts) = try connection.check(try connection.command(["SCAN", cursor, "MATCH", "tokenledger:*", "COUNT", "1000"])),
                parts.count == 2, let next = parts[0].text, case .array(let found) = parts[1]
            else { throw RedisFailure(description: "Redis: unexpected SCAN reply") }
            let keys = found.compactMap(\.text).filter { $0 != checkpointKey }
            if !keys.isEmpty { batches.append(keys) }
            cursor = next
        } while cursor != "0"
        return batches
    }

    private struct NotOurs: Error, CustomStringConvertible {
        var description: String
    }

    /// The row a hash holds, nil if the key does not exist; throws for anything this model
    /// would not have written.
    private static func row(from reply: RedisReply, key: String) throws -> ReadModelRow? {
        guard case .array(let items) = reply else { throw NotOurs(description: "not a hash") }
        if items.isEmpty { return nil }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            if let field = items[index].text { fields[field] = items[index + 1].text }
        }
        guard let text = fields["stream"], let stream = try? StreamID(parsing: text), key == Self.key(of: stream) else {
            throw NotOurs(description: "no stream field matching the key")
        }
        guard let position = fields["position"].flatMap({ Int64($0) }) else { throw NotOurs(description: "no position") }
        if fields["removed"] == "1" {
            return ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: position)
        }
        guard let token = fields["token"], let milliseconds = fields["expires_at_ms"].flatMap({ Int64($0) }) else {
            throw NotOurs(description: "neither a token with expires_at_ms nor removed")
        }
        return ReadModelRow(stream: stream, token: token, expiresAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000), position: position)
    }

    private static func position(_ reply: RedisReply) -> Int64 {
        reply.text.flatMap { Int64($0) } ?? 0
    }

    /// `milliseconds` since 1970 as ISO 8601 in UTC with milliseconds, `2026-11-28T07:48:01.123Z`
    /// (what Foundation's `.iso8601` format writes, without its cost: one per row written).
    static func iso8601(milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let dayMilliseconds = milliseconds - days * 86_400_000
        let (year, month, day) = CivilDate.civil(fromDays: days)
        guard (0...9999).contains(year) else {
            return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
                .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        }
        var text = [UInt8]()
        text.reserveCapacity(24)
        func put(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        put(Int64(year), 4)
        text.append(UInt8(ascii: "-"))
        put(Int64(month), 2)
        text.append(UInt8(ascii: "-"))
        put(Int64(day), 2)
        text.append(UInt8(ascii: "T"))
        put(dayMilliseconds / 3_600_000, 2)
        text.append(UInt8(ascii: ":"))
        put(dayMilliseconds / 60_000 % 60, 2)
        text.append(UInt8(ascii: ":"))
        put(dayMilliseconds / 1000 % 60, 2)
        text.append(UInt8(ascii: "."))
        put(dayMilliseconds % 1000, 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}
