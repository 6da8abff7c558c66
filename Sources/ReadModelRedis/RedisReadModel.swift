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
/// Every write is one Lua script: rows and checkpoint change together, a row only for a newer
/// position, the checkpoint only upwards.
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
        guard id.contains(where: { $0 == "%" || $0 == ":" }) else { return id }
        return id.replacing("%", with: "%25").replacing(":", with: "%3A")
    }

    public func checkpoint() async throws -> Int64 {
        try await call("read the checkpoint") { connection in
            Self.position(try connection.command(["HGET", Self.checkpointKey, "position"]))
        }
    }

    public func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws {
        var arguments = ["EVAL", Self.applyScript, String(rows.count + 1), Self.checkpointKey]
        arguments.reserveCapacity(4 + rows.count * 7 + 2)
        arguments += rows.map { Self.key(of: $0.stream) }
        arguments += [String(checkpoint), node]
        for row in rows {
            arguments += [row.stream.description, String(row.position)]
            if let token = row.token, let expiresAt = row.expiresAt {
                arguments += ["t", token, Self.iso8601(expiresAt), String(expiresAt.unixMilliseconds)]
            } else {
                arguments += ["r", "", "", ""]
            }
        }
        let command = arguments
        _ = try await call("apply") { connection in
            try connection.check(try connection.command(command))
        }
    }

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

    private static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// KEYS[1] the checkpoint hash, KEYS[2…] the rows' keys; ARGV[1] the checkpoint, ARGV[2] the
    /// node, then six values a row: stream, position, kind (t: token, r: removed), token,
    /// expires_at, expires_at_ms. A key holding something else than our hash is replaced.
    static let applyScript = """
        local applied = 0
        for i = 2, #KEYS do
          local a = 2 + (i - 2) * 6
          local position = tonumber(ARGV[a + 2])
          local current = redis.pcall('HGET', KEYS[i], 'position')
          if type(current) ~= 'string' or tonumber(current) == nil or tonumber(current) < position then
            redis.call('DEL', KEYS[i])
            if ARGV[a + 3] == 'r' then
              redis.call('HSET', KEYS[i], 'stream', ARGV[a + 1], 'position', ARGV[a + 2], 'removed', '1')
            else
              redis.call('HSET', KEYS[i], 'stream', ARGV[a + 1], 'position', ARGV[a + 2], 'token', ARGV[a + 4],
                'expires_at', ARGV[a + 5], 'expires_at_ms', ARGV[a + 6])
              redis.call('PEXPIREAT', KEYS[i], ARGV[a + 6])
            end
            applied = applied + 1
          end
        end
        local checkpoint = redis.pcall('HGET', KEYS[1], 'position')
        if type(checkpoint) ~= 'string' or tonumber(checkpoint) == nil or tonumber(checkpoint) < tonumber(ARGV[1]) then
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[1], 'position', ARGV[1], 'node', ARGV[2])
        end
        return applied
        """
}
