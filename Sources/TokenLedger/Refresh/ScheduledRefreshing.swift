#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Renews one stream ahead of time: what the `RefreshScheduler` asks of the `Refresher`.
public protocol ScheduledRefreshing: Sendable {
    /// Renews `stream` unless its token stays fresh until `freshUntil`; the token now current.
    func scheduledRefresh(_ stream: StreamID, freshUntil: Date) async throws -> ServedToken
}

extension Refresher: ScheduledRefreshing {}
