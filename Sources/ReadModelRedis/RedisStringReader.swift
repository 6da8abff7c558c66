import ReadModelSupport

/// Reads string keys another program wrote (pighand-token's `{project}_{platform}_{appid}` tokens,
/// for `tokenledger import`) with their remaining lives, many keys in one round trip.
public final class RedisStringReader: Sendable {
    private let pool: BlockingPool<RedisConnection>

    /// Connects lazily to `url` (`redis://[[user]:password@]host[:port][/db]`); `timeout` bounds
    /// the connection and every call.
    public init(url: String, timeout: Duration = .seconds(10)) throws {
        let parsed = try StoreURL(url, scheme: "redis")
        guard let database = parsed.path.map({ Int($0) }) ?? 0 else {
            throw StoreURLError(text: url, reason: "the path must be a database number")
        }
        pool = BlockingPool(size: 1, store: "Redis") {
            try RedisConnection(
                host: parsed.host, port: parsed.port ?? 6379, user: parsed.user, password: parsed.password, database: database, timeout: timeout
            )
        }
    }

    /// For each of `keys`, in order: its string value and the milliseconds it has left (nil when
    /// it has no expiry), or nil when it does not exist or is not a string.
    public func strings(_ keys: [String]) async throws -> [(value: String, millisecondsLeft: Int64?)?] {
        guard !keys.isEmpty else { return [] }
        return try await pool.withConnection("read \(keys.count) keys") { connection in
            // GET and PTTL of each key in one pipeline; PTTL is -1 without expiry, -2 when gone.
            let replies = try connection.pipeline(keys.flatMap { [["GET", $0], ["PTTL", $0]] })
            return stride(from: 0, to: replies.count, by: 2).map { index in
                guard let value = replies[index].text else { return nil }
                guard case .integer(let left) = replies[index + 1], left != -2 else { return nil }
                return (value, left >= 0 ? left : nil)
            }
        }
    }

    /// Stops the reader's thread.
    public func shutdown() async {
        await pool.shutdown()
    }
}
