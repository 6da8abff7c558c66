#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The snapshot's bytes: each stream's id and state, field by field in declaration order
/// (integers little-endian, dates as the bits of their seconds since 1970, strings as a length
/// and UTF-8, optionals and flags as a byte). A tenth of JSON's size, decoded some thirty times
/// faster: a start restores every app of the ledger. A field added to `StreamState` is added
/// here, and `MemorySnapshot.format` raised (`codedFields` counts them, and a test compares it).
extension MemorySnapshot {
    /// The stored properties of `StreamState` this encoding writes.
    public static let codedFields = 15

    static func encode(_ streams: [StreamID: StreamState]) -> [UInt8] {
        var out = Output()
        out.int(Int64(streams.count))
        for (stream, state) in streams {
            out.string(stream.project)
            out.string(stream.platform)
            out.string(stream.appid)
            out.int(state.version)
            out.int(state.position)
            out.optional(state.secret) { $0.string($1) }
            out.int(Int64(state.options.count))
            for (key, value) in state.options.sorted(by: { $0.key < $1.key }) {
                out.string(key)
                out.string(value)
            }
            out.optional(state.token) { out, token in
                out.string(token.value)
                out.date(token.expiresAt)
                out.int(token.position)
                out.date(token.issuedAt)
            }
            out.optional(state.refreshToken) { $0.string($1) }
            out.optional(state.lastFailure) { out, failure in
                out.string(failure.code)
                out.date(failure.at)
                out.int(failure.position)
                out.optional(failure.platformCode) { $0.string($1) }
                out.optional(failure.platformMessage) { $0.string($1) }
            }
            out.optional(state.lastRefresh) { out, refresh in
                out.date(refresh.at)
                out.string(refresh.reason.rawValue)
                out.string(refresh.node)
                out.int(Int64(refresh.upstreamLatencyMs))
            }
            out.flag(state.removed)
            out.flag(state.unreadable)
            out.optional(state.credentialsKeyID) { $0.string($1) }
            out.flag(state.credentialsFieldBound)
            out.int(state.credentialsPosition)
            out.int(Int64(state.consecutiveFailures))
            out.int(Int64(state.calls.day))
            out.int(Int64(state.calls.calls))
            out.int(Int64(state.calls.forced))
        }
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(LedgerError) -> [StreamID: StreamState] {
        var input = Input(bytes: bytes)
        let count = try input.count()
        var streams: [StreamID: StreamState] = [:]
        streams.reserveCapacity(count)
        for _ in 0..<count {
            let stream = try StreamID(project: try input.string(), platform: try input.string(), appid: try input.string())
            var state = StreamState()
            state.version = try input.int()
            state.position = try input.int()
            state.secret = try input.optional { input throws(LedgerError) in try input.string() }
            for _ in 0..<(try input.count()) {
                let key = try input.string()
                state.options[key] = try input.string()
            }
            state.token = try input.optional { input throws(LedgerError) in
                CurrentToken(value: try input.string(), expiresAt: try input.date(), position: try input.int(), issuedAt: try input.date())
            }
            state.refreshToken = try input.optional { input throws(LedgerError) in try input.string() }
            state.lastFailure = try input.optional { input throws(LedgerError) in
                LastFailure(
                    code: try input.string(), at: try input.date(), position: try input.int(),
                    platformCode: try input.optional { input throws(LedgerError) in try input.string() },
                    platformMessage: try input.optional { input throws(LedgerError) in try input.string() }
                )
            }
            state.lastRefresh = try input.optional { input throws(LedgerError) in
                let at = try input.date()
                guard let reason = RefreshReason(rawValue: try input.string()) else { throw Input.corrupt }
                return LastRefresh(at: at, reason: reason, node: try input.string(), upstreamLatencyMs: Int(try input.int()))
            }
            state.removed = try input.flag()
            state.unreadable = try input.flag()
            state.credentialsKeyID = try input.optional { input throws(LedgerError) in try input.string() }
            state.credentialsFieldBound = try input.flag()
            state.credentialsPosition = try input.int()
            state.consecutiveFailures = Int(try input.int())
            state.calls = DailyCalls(day: Int(try input.int()), calls: Int(try input.int()), forced: Int(try input.int()))
            streams[stream] = state
        }
        guard input.atEnd else { throw Input.corrupt }
        return streams
    }

    private struct Output {
        var bytes: [UInt8] = []

        mutating func int(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func date(_ value: Date) { int(Int64(bitPattern: value.timeIntervalSinceReferenceDate.bitPattern)) }

        mutating func string(_ value: String) {
            int(Int64(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        }

        mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

        mutating func optional<T>(_ value: T?, _ write: (inout Output, T) -> Void) {
            flag(value != nil)
            if let value { write(&self, value) }
        }
    }

    private struct Input {
        static let corrupt = LedgerError(.corruptEvent, "a memory snapshot is cut short or malformed")
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        mutating func int() throws(LedgerError) -> Int64 {
            guard bytes.count - offset >= 8 else { throw Self.corrupt }
            var value: Int64 = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + 8]) }
            offset += 8
            return Int64(littleEndian: value)
        }

        /// A count or length: not negative, and no more than the bytes left could hold.
        mutating func count() throws(LedgerError) -> Int {
            let value = try int()
            guard value >= 0, value <= bytes.count - offset else { throw Self.corrupt }
            return Int(value)
        }

        mutating func date() throws(LedgerError) -> Date {
            Date(timeIntervalSinceReferenceDate: Double(bitPattern: UInt64(bitPattern: try int())))
        }

        mutating func string() throws(LedgerError) -> String {
            let length = try count()
            defer { offset += length }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }

        mutating func flag() throws(LedgerError) -> Bool {
            guard offset < bytes.count, bytes[offset] <= 1 else { throw Self.corrupt }
            offset += 1
            return bytes[offset - 1] == 1
        }

        mutating func optional<T>(_ read: (inout Input) throws(LedgerError) -> T) throws(LedgerError) -> T? {
            try flag() ? try read(&self) : nil
        }
    }
}
