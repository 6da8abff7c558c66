#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// Forwards kept while callers move to the parts (issue 10 merge); remove when none is called.
extension Ledger {
    /// Forwards to `reader.token(for:secret:context:)`.
    public func token(for stream: StreamID, secret: String?, context: CallContext) async throws -> ServedToken {
        try await reader.token(for: stream, secret: secret, context: context)
    }

    /// Forwards to `reader.refresh(_:secret:nowToken:context:)`.
    public func refresh(_ stream: StreamID, secret: String?, nowToken: String?, context: CallContext) async throws -> ServedToken {
        try await reader.refresh(stream, secret: secret, nowToken: nowToken, context: context)
    }

    /// Forwards to `reader.compareAndRefresh(_:expected:context:)`.
    public func compareAndRefresh(_ stream: StreamID, expected: String, context: CallContext) async throws -> ServedToken {
        try await reader.compareAndRefresh(stream, expected: expected, context: context)
    }

    /// Forwards to `reader.isRegistered(secret:for:)`.
    public func isRegistered(secret: String, for stream: StreamID) -> Bool {
        reader.isRegistered(secret: secret, for: stream)
    }

    /// Forwards to `reader.reads(fromTier:)`.
    public func reads(fromTier tier: String) -> Int { reader.reads(fromTier: tier) }

    /// Forwards to `reader.hasSharedReadModels`.
    public var hasSharedReadModels: Bool { reader.hasSharedReadModels }

    /// Forwards to `refresher.platformNames`.
    public var platformNames: [String] { refresher.platformNames }

    /// Forwards to `refresher.scheduledRefresh(_:freshUntil:)`.
    public func scheduledRefresh(_ stream: StreamID, freshUntil: Date) async throws -> ServedToken {
        try await refresher.scheduledRefresh(stream, freshUntil: freshUntil)
    }

    /// Forwards to `credentials.set(_:secret:options:verify:context:)`.
    public func setCredentials(
        _ stream: StreamID, secret: String, options platformOptions: [String: String], verify: Bool = true, context: CallContext
    ) async throws -> Int64 {
        try await credentials.set(stream, secret: secret, options: platformOptions, verify: verify, context: context)
    }

    /// Forwards to `credentials.register(secret:_:verify:for:context:)` with `.register(options:)`.
    public func register(
        secret: String, options platformOptions: [String: String] = [:], verify: Bool = true, for stream: StreamID, context: CallContext
    ) async throws {
        try await credentials.register(secret: secret, .register(options: platformOptions), verify: verify, for: stream, context: context)
    }

    /// Forwards to `credentials.reseal(context:)`.
    public func resealCredentials(context: CallContext) async throws -> (resealed: [StreamID], unreadable: [StreamID]) {
        try await credentials.reseal(context: context)
    }

    /// Forwards to `audit.history(of:afterVersion:limit:)`.
    public func history(of stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await audit.history(of: stream, afterVersion: afterVersion, limit: limit)
    }

    /// Forwards to `audit.events(after:limit:filter:scanLimit:)`.
    public func events(
        after position: Int64, limit: Int, filter: EventFilter, scanLimit: Int = 10_000
    ) async throws -> (events: [RecordedEvent], next: Int64) {
        try await audit.events(after: position, limit: limit, filter: filter, scanLimit: scanLimit)
    }
}
