#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension Ledger {
    /// One refresh, under the cross-replica lock: re-read the head, call the platform only if
    /// nobody else has met the demand meanwhile, append the outcome through the lock's fence.
    func refreshUnderLock(
        _ stream: StreamID,
        platform: any Platform,
        demand: RefreshDemand,
        reason: RefreshReason,
        context: CallContext
    ) async throws -> ServedToken {
        let waitStarted = ContinuousClock.now
        let fetched = FetchedToken.Slot()
        let served: ServedToken
        do {
            served = try await mapStoreErrors {
                try await log.withRefreshLock(on: stream) { fence in
                    self.metrics.lockWaited(seconds: Self.seconds(ContinuousClock.now - waitStarted))
                    // Someone else may have refreshed while we waited for the lock.
                    try await self.projector.catchUp()
                    let state = try self.usableState(of: stream)
                    if let token = state.token, demand.isSatisfied(by: token, of: stream, now: self.now(), freshness: self.options.freshness) {
                        return ServedToken(token)
                    }
                    guard let secret = state.secret else {
                        throw LedgerError(.credentialsMissing, "no secret is registered for \(stream): pass ?secret= once, or declare the app in configuration")
                    }
                    return try await self.callPlatform(
                        platform, stream: stream, state: state, secret: secret, demand: demand, reason: reason, context: context,
                        fence: fence, fetched: fetched
                    )
                }
            }
        } catch let error as LedgerError where error.code == .lockLost {
            guard let token = fetched.value else { throw error }
            return try await settle(token, of: stream, reason: reason, context: context)
        }
        // The fenced append became visible when the lock was released.
        _ = try? await projector.catchUp()
        return served
    }

    /// The folded state of `stream`, if it may be refreshed at all.
    func usableState(of stream: StreamID) throws -> StreamState {
        let state = projector.model.state(of: stream) ?? StreamState()
        if state.unreadable {
            throw LedgerError(.corruptEvent, "events of \(stream) do not open with the configured keys: is the old key in secrets.previous_keys?")
        }
        if state.removed {
            throw LedgerError(.appRemoved, "app \(stream) was removed; register a secret to use it again")
        }
        return state
    }

    private func callPlatform(
        _ platform: any Platform,
        stream: StreamID,
        state: StreamState,
        secret: String,
        demand: RefreshDemand,
        reason: RefreshReason,
        context: CallContext,
        fence: any RefreshFence,
        fetched: FetchedToken.Slot
    ) async throws -> ServedToken {
        var replacing: String?
        switch demand {
        case .replacing(let bad): replacing = bad
        case .issuedAfter: replacing = state.token?.value
        case .fresh, .freshUntil: replacing = nil
        }
        let request = TokenRequest(
            appid: stream.appid, secret: secret, options: state.options, replacing: replacing, reason: reason, refreshToken: state.refreshToken
        )
        let issued: IssuedToken
        let elapsed: Duration
        do {
            (issued, elapsed) = try await fetch(platform, request, stream: stream)
        } catch let failure as PlatformError {
            return try await recordFailure(failure, stream: stream, state: state, reason: reason, context: context)
        }
        if reason == .scheduled, let current = state.token, issued.token == current.value {
            // The platform handed back the token we hold (WeChat's stable token, Feishu with more
            // than 30 minutes left): nothing happened, so nothing is recorded.
            return ServedToken(current)
        }
        let token = try FetchedToken(issued, elapsed: elapsed, reason: reason, stream: stream, state: state, ledger: self, context: context)
        fetched.value = token
        let recorded = try await appendFenced(token.events, token: token, to: stream, fence: fence)
        return token.served(at: recorded)
    }

    /// Calls the platform once, counting the call; any failure comes back as a `PlatformError`.
    func fetch(_ platform: any Platform, _ request: TokenRequest, stream: StreamID) async throws -> (IssuedToken, Duration) {
        let started = ContinuousClock.now
        do {
            let issued = try await platform.fetchToken(request)
            let elapsed = ContinuousClock.now - started
            metrics.upstreamCall(platform: stream.platform, outcome: "ok", seconds: Self.seconds(elapsed))
            return (issued, elapsed)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let failure = error as? PlatformError ?? PlatformError(.unreachable)
            metrics.upstreamCall(platform: stream.platform, outcome: failure.kind.rawValue, seconds: Self.seconds(ContinuousClock.now - started))
            throw failure
        }
    }

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
        let served = try await mapStoreErrors {
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
                guard let current = state.token, self.options.freshness.isStillValid(expiresAt: current.expiresAt, now: self.now()) else {
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
    private func recordFailure(
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
            logger.error("could not record a failed refresh", metadata: [LogKey.stream: "\(stream)", LogKey.error: "\(error)"])
        }
        if reason == .miss || reason == .expired || reason == .scheduled,
            let token = state.token, options.freshness.isStillValid(expiresAt: token.expiresAt, now: now())
        {
            metrics.staleRead()
            return ServedToken(token, stale: true)
        }
        throw LedgerError(failure.code, Self.callerMessage(for: failure, stream: stream))
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

    func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
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

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func callerMessage(for failure: PlatformError, stream: StreamID) -> String {
        let platformWords = failure.platformCode.map { " (\(stream.platform) code \($0)\(failure.platformMessage.map { ": \($0)" } ?? ""))" } ?? ""
        switch failure.kind {
        case .credentialsRejected:
            return "\(stream.platform) rejected the credentials of \(stream.appid)\(platformWords); check the app id and secret"
        case .quotaExhausted:
            return "\(stream.platform) says the daily quota of \(stream.appid) is used up\(platformWords)"
        case .rateLimited:
            return "\(stream.platform) asks to call less often\(platformWords); retry in a minute"
        case .busy:
            return "\(stream.platform) is busy\(platformWords); retry shortly"
        case .unreachable:
            return "\(stream.platform) did not answer in time; retry shortly"
        case .malformedAnswer:
            return "\(stream.platform) answered something that is not a token\(platformWords)"
        case .refused:
            return "\(stream.platform) refused to issue a token\(platformWords)"
        }
    }
}
