import ReadModelSupport
import TokenLedger

/// One page of rows and its checkpoint written to Redis with the position guard, in two round
/// trips whatever the page's size:
///
/// 1. `WATCH` the checkpoint key, then read it and every row's stored `position` and `removed`;
/// 2. `MULTI`; for each row newer than the stored one its hash (deleted first unless a token row
///    of ours is overwritten field for field, so that no stale field or expiry survives) and its
///    expiry; the checkpoint, raised or rewritten as it was; `EXEC`.
///
/// Every writer changes the checkpoint key in its transaction, so a writer that committed between
/// another's read and write makes that one's `EXEC` fail: nothing of it is written, and it reads
/// again. The guard thus holds between writers as it did in one Lua script, with native commands
/// only (a script's call per command cost Redis about twice the instructions).
struct RedisPageWrite {
    var rows: [ReadModelRow]
    var checkpoint: Int64
    var node: String

    /// What a row's key holds.
    private enum Stored {
        /// Nothing, or nothing of ours: replaced as a whole.
        case other
        /// A token row of ours.
        case token(Int64)
        /// A tombstone of ours.
        case tombstone(Int64)

        var position: Int64? {
            switch self {
            case .other: nil
            case .token(let position), .tombstone(let position): position
            }
        }
    }

    /// Writes the page; false when another writer committed in between (nothing was written).
    func run(on connection: RedisConnection) throws -> Bool {
        let keys = rows.map { RedisReadModel.key(of: $0.stream) }
        var reads = RedisCommandBuffer(capacity: 128 + keys.count * 80)
        reads.command("WATCH", RedisReadModel.checkpointKey)
        reads.command("HGET", RedisReadModel.checkpointKey, "position")
        for key in keys {
            reads.command(4)
            reads.argument("HMGET")
            reads.argument(key)
            reads.argument("position")
            reads.argument("removed")
        }
        try connection.send(reads)
        try connection.reply { try $0.check() }
        let stored: Int64? = try connection.reply { $0.integer }
        var current: [Stored] = []
        current.reserveCapacity(keys.count)
        for _ in keys {
            current.append(try connection.reply { reply in
                guard reply.error == nil, reply.count == 2, let position = reply[0].integer else { return .other }
                return reply[1].isNil ? .token(position) : .tombstone(position)
            })
        }

        var writes = RedisCommandBuffer(capacity: 128 + keys.count * 200)
        writes.command("MULTI")
        for (index, row) in rows.enumerated() {
            if let position = current[index].position, position >= row.position { continue }
            let key = keys[index]
            let token = row.expiresAt.flatMap { expiresAt in row.token.map { ($0, expiresAt.unixMilliseconds) } }
            if case .token = current[index], token != nil {
                // Our token row, overwritten field for field below.
            } else {
                writes.command("DEL", key)
            }
            writes.command(token == nil ? 8 : 12)
            writes.argument("HSET")
            writes.argument(key)
            writes.argument("stream")
            writes.argument(joining: row.stream.project, row.stream.platform, row.stream.appid, separator: UInt8(ascii: "/"))
            writes.argument("position")
            writes.argument(row.position)
            if let (token, milliseconds) = token {
                writes.argument("token")
                writes.argument(token)
                writes.argument("expires_at")
                writes.argument(RedisReadModel.iso8601(milliseconds: milliseconds))
                writes.argument("expires_at_ms")
                writes.argument(milliseconds)
                writes.command(3)
                writes.argument("PEXPIREAT")
                writes.argument(key)
                writes.argument(milliseconds)
            } else {
                writes.argument("removed")
                writes.argument("1")
            }
        }
        if let stored, stored >= checkpoint {
            // Unchanged, but written: the key changes, which is what fails another writer's EXEC.
            writes.command("HSET", RedisReadModel.checkpointKey, "position", String(stored))
        } else {
            writes.command("DEL", RedisReadModel.checkpointKey)
            writes.command("HSET", RedisReadModel.checkpointKey, "position", String(checkpoint), "node", node)
        }
        writes.command("EXEC")
        try connection.send(writes)
        for _ in 0..<(writes.count - 1) {
            try connection.reply { try $0.check() }
        }
        return try connection.reply { reply in
            try reply.check()
            if reply.isNil { return false }
            for index in 0..<reply.count { try reply[index].check() }
            return true
        }
    }
}
