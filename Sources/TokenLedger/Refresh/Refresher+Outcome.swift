#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension Refresher {
    /// Appends a fetched token (with what goes with it) under the lock. A version conflict means
    /// someone appended without the lock (a secret set, a failure recorded): the token may still
    /// become current if no other token was issued meanwhile; otherwise it is never re-appended
    /// blindly, and the caller learns it as a lost lock (then `settle` decides).
    func appendFenced(_ events: [NewEvent], token: FetchedToken, to stream: StreamID, fence: any RefreshFence) async throws -> RecordedEvent {
        do {
            let recorded = try await fence.append(events, to: stream, expectedVersion: token.baseVersion)
            guard let last = recorded.last else { throw LedgerError(.storeUnavailable, "the log recorded nothing") }
            metrics.refreshed(reason: token.reason)
            logger.info(
                "token issued",
                metadata: [
                    LogKey.stream: "\(stream)", LogKey.position: "\(last.position)", LogKey.reason: "\(token.reason.rawValue)",
                    LogKey.requestID: "\(token.requestID ?? "-")",
                ]
            )
            return last
        } catch let error as LedgerError where error.code == .versionConflict {
            // The failed statement aborted the lock's transaction: settle under a new lock.
            throw LedgerError(.lockLost, "\(stream) changed while its token was fetched")
        }
    }

    /// A token was fetched but its lock was lost (or the stream changed) before it was recorded.
    /// Under the lock again: if no token was issued since the fetch began, this one is the newest
    /// the platform gave and becomes current; otherwise it was superseded — that is recorded, and
    /// the current token is served. Never is an older token made current over a newer one.
    func settle(_ token: FetchedToken, of stream: StreamID, reason: RefreshReason, context: CallContext) async throws -> ServedToken {
        let served = try await Self.mapStoreErrors {
            try await log.withRefreshLock(on: stream) { fence in
                try await self.projector.catchUp()
                let state = try self.usableState(of: stream)
                if let current = state.token, current.value == token.plain {
                    return ServedToken(current)  // the commit had gone through after all
                }
                if state.token?.position == token.baseTokenPosition {
                    let recorded = try await fence.append(token.events, to: stream, expectedVersion: state.version)
                    guard let last = recorded.last else { throw LedgerError(.storeUnavailable, "the log recorded nothing") }
                    self.metrics.refreshed(reason: token.reason)
                    self.metrics.lockLost(adopted: true)
                    return token.served(at: last)
                }
                self.metrics.lockLost(adopted: false)
                self.logger.warning(
                    "a token fetched while the refresh lock was lost was superseded; it is not made current",
                    metadata: [LogKey.stream: "\(stream)", LogKey.reason: "\(reason.rawValue)", LogKey.requestID: "\(context.requestID ?? "-")"]
                )
                let note = RefreshFailed(
                    code: RefreshFailed.superseded, platformCode: nil,
                    platformMessage: "the refresh lost its lock; a token issued meanwhile (position \(state.token?.position ?? 0)) stays current",
                    reason: reason
                )
                _ = try? await fence.append([try NewEvent(note, metadata: self.metadata(context))], to: stream, expectedVersion: state.version)
                guard let current = state.token, self.freshness.isStillValid(expiresAt: current.expiresAt, now: self.now()) else {
                    throw LedgerError(.lockLost, "the refresh of \(stream) lost its lock and no token is current; retry")
                }
                return ServedToken(current)
            }
        }
        _ = try? await projector.catchUp()
        return served
    }

    /// Records a failed refresh; hands out the old token if the platform still accepts it and the
    /// caller did not ask precisely for a new one.
    func recordFailure(
        _ failure: PlatformError,
        stream: StreamID,
        state: StreamState,
        reason: RefreshReason,
        context: CallContext
    ) async throws -> ServedToken {
        logger.warning(
            "refresh failed",
            metadata: [
                LogKey.stream: "\(stream)", LogKey.error: "\(failure)", LogKey.reason: "\(reason.rawValue)",
                LogKey.requestID: "\(context.requestID ?? "-")",
            ]
        )
        let payload = RefreshFailed(code: failure.code.description, platformCode: failure.platformCode, platformMessage: failure.platformMessage, reason: reason)
        do {
            // A failure changes no token: it is recorded at whatever version the stream has.
            try await appendAtHead(try NewEvent(payload, metadata: metadata(context)), to: stream, expectedVersion: state.version)
            try await projector.catchUp()
        } catch {
            logger.error("could not record a failed refresh", metadata: [LogKey.stream: "\(stream)", LogKey.error: "\(LedgerError.explain(error))"])
        }
        if reason == .miss || reason == .expired || reason == .scheduled,
            let token = state.token, freshness.isStillValid(expiresAt: token.expiresAt, now: now())
        {
            metrics.staleRead()
            return ServedToken(token, stale: true)
        }
        throw LedgerError(failure.code, failure.callerMessage(for: stream))
    }

    /// Appends an event that changes no token, re-reading the head on a version race.
    func appendAtHead(_ event: NewEvent, to stream: StreamID, expectedVersion: Int64) async throws {
        var expected = expectedVersion
        for attempt in 0..<3 {
            do {
                _ = try await log.append([event], to: stream, expectedVersion: expected)
                return
            } catch let error as LedgerError where error.code == .versionConflict && attempt < 2 {
                try await projector.catchUp()
                expected = projector.model.state(of: stream)?.version ?? 0
            }
        }
    }

    /// Runs `body`, turning any failure of the log that is not already a `LedgerError` into
    /// `storeUnavailable` (the caller learns the log is down, not a driver's words).
    static func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LedgerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LedgerError(.storeUnavailable, "the event log is unavailable")
        }
    }

    /// `duration` in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
