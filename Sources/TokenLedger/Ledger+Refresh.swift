#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension Ledger {
    /// One refresh, under the cross-replica lock: re-read the head, call the platform only if
    /// nobody else has met the demand meanwhile, append the outcome.
    func refreshUnderLock(
        _ stream: StreamID,
        platform: any Platform,
        demand: RefreshDemand,
        reason: RefreshReason,
        context: CallContext
    ) async throws -> ServedToken {
        let waitStarted = ContinuousClock.now
        return try await mapStoreErrors {
            try await log.withRefreshLock(on: stream) {
                self.metrics.lockWaited(seconds: Self.seconds(ContinuousClock.now - waitStarted))
                // Someone else may have refreshed while we waited for the lock.
                try await self.projector.catchUp()
                let state = self.projector.model.state(of: stream) ?? StreamState()
                if state.unreadable {
                    throw LedgerError(.corruptEvent, "events of \(stream) do not open with the configured keys: is the old key in secrets.previous_keys?")
                }
                if state.removed {
                    throw LedgerError(.appRemoved, "app \(stream) was removed; register a secret to use it again")
                }
                if let token = state.token, demand.isSatisfied(by: token, now: self.now(), freshness: self.options.freshness) {
                    return ServedToken(token)
                }
                guard let secret = state.secret else {
                    throw LedgerError(.credentialsMissing, "no secret is registered for \(stream): pass ?secret= once, or declare the app in configuration")
                }
                return try await self.callPlatform(platform, stream: stream, state: state, secret: secret, demand: demand, reason: reason, context: context)
            }
        }
    }

    private func callPlatform(
        _ platform: any Platform,
        stream: StreamID,
        state: StreamState,
        secret: String,
        demand: RefreshDemand,
        reason: RefreshReason,
        context: CallContext
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
        let started = ContinuousClock.now
        let issued: IssuedToken
        do {
            issued = try await platform.fetchToken(request)
        } catch {
            let failure = error as? PlatformError ?? PlatformError(.unreachable)
            metrics.upstreamCall(platform: stream.platform, outcome: failure.kind.rawValue, seconds: Self.seconds(ContinuousClock.now - started))
            return try await recordFailure(failure, stream: stream, state: state, reason: reason, context: context)
        }
        let elapsed = ContinuousClock.now - started
        metrics.upstreamCall(platform: stream.platform, outcome: "ok", seconds: Self.seconds(elapsed))
        if reason == .scheduled, let current = state.token, issued.token == current.value {
            // The platform handed back the token we hold (WeChat's stable token, Feishu with more
            // than 30 minutes left): nothing happened, so nothing is recorded.
            return ServedToken(current)
        }
        let latencyMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let payload = TokenIssued(
            token: try sealer.seal(issued.token, for: stream, as: .token),
            expiresAt: now().addingTimeInterval(Double(issued.expiresIn)),
            reason: reason,
            upstreamLatencyMs: latencyMs,
            refreshToken: try issued.refreshToken.map { try sealer.seal($0, for: stream, as: .refreshToken) }
        )
        let recorded = try await appendRetrying(try NewEvent(payload, metadata: metadata(context)), to: stream, expectedVersion: state.version)
        try await projector.catchUp()
        metrics.refreshed(reason: reason)
        logger.info(
            "token issued",
            metadata: [
                LogKey.stream: "\(stream)", LogKey.position: "\(recorded.position)", LogKey.reason: "\(reason.rawValue)",
                LogKey.requestID: "\(context.requestID ?? "-")",
            ]
        )
        return ServedToken(token: issued.token, expiresAt: payload.expiresAt, position: recorded.position)
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
            _ = try await appendRetrying(try NewEvent(payload, metadata: metadata(context)), to: stream, expectedVersion: state.version)
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

    /// Appends one event, re-reading the head when another writer (a secret registered elsewhere)
    /// got in first: the outcome of a platform call is never dropped for a version race.
    private func appendRetrying(_ event: NewEvent, to stream: StreamID, expectedVersion: Int64) async throws -> RecordedEvent {
        var expected = expectedVersion
        for attempt in 0..<5 {
            do {
                let recorded = try await log.append([event], to: stream, expectedVersion: expected)
                guard let first = recorded.first else { throw LedgerError(.storeUnavailable, "the log recorded nothing") }
                return first
            } catch let error as LedgerError where error.code == .versionConflict && attempt < 4 {
                try await projector.catchUp()
                expected = projector.model.state(of: stream)?.version ?? 0
            }
        }
        throw LedgerError(.versionConflict, "stream \(stream) kept changing while appending")
    }

    private func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
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
