import CHiredis
import ReadModelSupport

/// A Redis reply, copied out of hiredis's reply object.
enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case integer(Int64)
    case array([RedisReply])
    case null
    case status(String)
    case error(String)

    var text: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
}

/// A failure talking to Redis: the connection is not reused after it.
struct RedisFailure: Error, CustomStringConvertible {
    var description: String
}

/// One hiredis connection, used by one pool thread at a time; freed on release.
final class RedisConnection: BlockingConnection, @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects to `host:port` within `timeout` (also the timeout of every later call), then
    /// authenticates (as `user` when given) and selects `database`.
    init(host: String, port: Int, user: String?, password: String?, database: Int, timeout: Duration) throws {
        let milliseconds = Int(timeout.milliseconds)
        let interval = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        guard let context = redisConnectWithTimeout(host, Int32(port), interval) else {
            throw RedisFailure(description: "cannot allocate a Redis connection")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisFailure(description: "cannot connect to Redis at \(host):\(port): \(message)")
        }
        redisSetTimeout(context, interval)
        self.context = context
        if let password {
            // Redis 6 ACL users authenticate with a name; older servers with the password alone.
            try check(command(user.map { ["AUTH", $0, password] } ?? ["AUTH", password]))
        }
        if database != 0 {
            try check(command(["SELECT", String(database)]))
        }
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply.
    func command(_ arguments: [String]) throws -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// Sends every command at once, then reads their replies in order (one round trip).
    func pipeline(_ commands: [[String]]) throws -> [RedisReply] {
        for arguments in commands {
            let status = withArgv(arguments) { argv, lengths in
                redisAppendCommandArgv(context, Int32(arguments.count), argv, lengths)
            }
            guard status == REDIS_OK else { throw RedisFailure(description: "Redis: \(Self.errorText(context))") }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw RedisFailure(description: "Redis: \(Self.errorText(context))")
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Sends every command of `buffer` at once (one write); read their replies with `reply(_:)`,
    /// one each, in order.
    func send(_ buffer: RedisCommandBuffer) throws {
        let status = buffer.bytes.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard status == REDIS_OK else { throw RedisFailure(description: "Redis: \(Self.errorText(context))") }
    }

    /// Waits for the next reply and hands it to `body` in place (nothing copied; an error reply
    /// too: see `RedisReplyView.check()`).
    func reply<T>(_ body: (RedisReplyView) throws -> T) throws -> T {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw RedisFailure(description: "Redis: \(Self.errorText(context))")
        }
        defer { freeReplyObject(raw) }
        return try body(RedisReplyView(reply: raw.assumingMemoryBound(to: redisReply.self)))
    }

    /// Throws a Redis error reply.
    @discardableResult
    func check(_ reply: RedisReply) throws -> RedisReply {
        if case .error(let message) = reply { throw RedisFailure(description: "Redis: \(message)") }
        return reply
    }

    private func withArgv<T>(_ arguments: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T) -> T {
        // Every argument is copied once into a C buffer; lengths are passed, so bytes of any value
        // (quotes, NULs, newlines) travel exactly.
        let buffers = arguments.map { argument -> (UnsafeMutablePointer<CChar>, Int) in
            let utf8 = Array(argument.utf8)
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, utf8.count))
            utf8.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { buffer.update(from: $0.baseAddress!, count: utf8.count) }
            }
            return (buffer, utf8.count)
        }
        defer { for (buffer, _) in buffers { buffer.deallocate() } }
        var pointers = buffers.map { UnsafePointer<CChar>?(UnsafePointer($0.0)) }
        let lengths = buffers.map(\.1)
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { body(argv.baseAddress!, $0.baseAddress!) }
        }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(bytes(value.str, value.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<value.elements).map { copy(value.element[$0]!) })
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "error \(context.pointee.err)" : String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// A reply as hiredis holds it, read in place while `RedisConnection.reply(_:)` runs.
struct RedisReplyView {
    fileprivate let reply: UnsafeMutablePointer<redisReply>

    /// Nil (a missing key or field, an aborted transaction).
    var isNil: Bool { reply.pointee.type == REDIS_REPLY_NIL }

    /// The message of an error reply.
    var error: String? {
        guard reply.pointee.type == REDIS_REPLY_ERROR else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len), as: UTF8.self)
    }

    /// Throws an error reply.
    func check() throws {
        if let error { throw RedisFailure(description: "Redis: \(error)") }
    }

    /// The elements of an array reply (none for any other reply).
    var count: Int { reply.pointee.type == REDIS_REPLY_ARRAY ? reply.pointee.elements : 0 }

    subscript(index: Int) -> RedisReplyView {
        precondition(index < count, "no element \(index)")
        return RedisReplyView(reply: reply.pointee.element[index]!)
    }

    /// A string reply that is a decimal integer, read without making a `String`; nil otherwise.
    var integer: Int64? {
        switch reply.pointee.type {
        case REDIS_REPLY_INTEGER: return Int64(reply.pointee.integer)
        case REDIS_REPLY_STRING: return Self.decimal(UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len))
        default: return nil
        }
    }

    /// The text of a string or status reply.
    var text: String? {
        guard reply.pointee.type == REDIS_REPLY_STRING || reply.pointee.type == REDIS_REPLY_STATUS else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len), as: UTF8.self)
    }

    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
