#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A payload (or metadata) that `EventCoding.decode` reads with `FlatJSON` before trying
/// `JSONDecoder`: `init?(flatJSON:)` answers nil for anything it is not sure of (a missing or
/// repeated key, a value of another kind, an escape), and `JSONDecoder` then decides.
protocol FlatJSONDecodable {
    init?(flatJSON data: Data)
}

/// The keys a fast decoder has seen: a repeated one is left to `JSONDecoder`.
private struct SeenKeys {
    private var bits: UInt8 = 0

    mutating func first(_ bit: UInt8) -> Bool {
        defer { bits |= bit }
        return bits & bit == 0
    }
}

extension TokenIssued: FlatJSONDecodable {
    init?(flatJSON data: Data) {
        var seen = SeenKeys()
        var (token, expiresAt, reason, latency): (SealedValue?, Date?, RefreshReason?, Int?) = (nil, nil, nil, nil)
        var refreshToken: SealedValue?
        let read = FlatJSON.scan(data) { key, value in
            if FlatJSON.key(key, is: "token") {
                guard seen.first(1), let text = value.string else { return false }
                token = SealedValue(text: text)
            } else if FlatJSON.key(key, is: "expires_at") {
                guard seen.first(2), let milliseconds = value.double else { return false }
                expiresAt = Date(timeIntervalSince1970: milliseconds / 1000)
            } else if FlatJSON.key(key, is: "reason") {
                guard seen.first(4), let text = value.string, let known = RefreshReason(rawValue: text) else { return false }
                reason = known
            } else if FlatJSON.key(key, is: "upstream_latency_ms") {
                guard seen.first(8), let milliseconds = value.int else { return false }
                latency = milliseconds
            } else if FlatJSON.key(key, is: "refresh_token") {
                guard seen.first(16) else { return false }
                if case .null = value { return true }
                guard let text = value.string else { return false }
                refreshToken = SealedValue(text: text)
            }
            return true
        }
        guard read, let token, let expiresAt, let reason, let latency else { return nil }
        self.init(token: token, expiresAt: expiresAt, reason: reason, upstreamLatencyMs: latency, refreshToken: refreshToken)
    }
}

extension RefreshFailed: FlatJSONDecodable {
    init?(flatJSON data: Data) {
        var seen = SeenKeys()
        var (code, platformCode, platformMessage, reason): (String?, String?, String?, RefreshReason?) = (nil, nil, nil, nil)
        let read = FlatJSON.scan(data) { key, value in
            if FlatJSON.key(key, is: "code") {
                guard seen.first(1), let text = value.string else { return false }
                code = text
            } else if FlatJSON.key(key, is: "platform_code") {
                guard seen.first(2), value.read(into: &platformCode) else { return false }
            } else if FlatJSON.key(key, is: "platform_message") {
                guard seen.first(4), value.read(into: &platformMessage) else { return false }
            } else if FlatJSON.key(key, is: "reason") {
                guard seen.first(8), let text = value.string, let known = RefreshReason(rawValue: text) else { return false }
                reason = known
            }
            return true
        }
        guard read, let code, let reason else { return nil }
        self.init(code: code, platformCode: platformCode, platformMessage: platformMessage, reason: reason)
    }
}

extension TokenRevoked: FlatJSONDecodable {
    init?(flatJSON data: Data) {
        var seen = SeenKeys()
        var reason: String?
        let read = FlatJSON.scan(data) { key, value in
            guard FlatJSON.key(key, is: "reason") else { return true }
            guard seen.first(1), let text = value.string else { return false }
            reason = text
            return true
        }
        guard read, let reason else { return nil }
        self.init(reason: reason)
    }
}

extension EventMetadata: FlatJSONDecodable {
    init?(flatJSON data: Data) {
        var seen = SeenKeys()
        var (node, requestID, actor): (String?, String?, String?) = (nil, nil, nil)
        let read = FlatJSON.scan(data) { key, value in
            if FlatJSON.key(key, is: "node") {
                guard seen.first(1), let text = value.string else { return false }
                node = text
            } else if FlatJSON.key(key, is: "request_id") {
                guard seen.first(2), value.read(into: &requestID) else { return false }
            } else if FlatJSON.key(key, is: "actor") {
                guard seen.first(4), value.read(into: &actor) else { return false }
            }
            return true
        }
        guard read, let node else { return nil }
        self.init(node: node, requestID: requestID, actor: actor)
    }
}
