#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging

/// Refreshes tokens: one flight per stream in this process, the stream's cross-replica lock
/// (`EventLog.withRefreshLock`), the platform call only if nobody met the demand meanwhile, and
/// the outcome recorded through the lock's fence — so that a platform is called at most once per
/// stream per refresh across every replica, reader and the scheduler.
public final class Refresher: Sendable {
    let log: any EventLog
    let projector: Projector
    let platforms: [String: any Platform]
    let sealer: Sealer
    let freshness: Freshness
    let budgets: QuotaBudgets
    let node: String
    let metrics: LedgerMetrics
    let logger: Logger
    let now: @Sendable () -> Date
    private let flights = RefreshFlights()

    /// Creates a refresher that records in `log`, reads the head from `projector`'s model and
    /// calls `platforms` by name; `node` is recorded with every event it appends, and forced
    /// refreshes are held to `budgets`.
    public init(
        log: any EventLog,
        projector: Projector,
        platforms: [String: any Platform],
        sealer: Sealer,
        freshness: Freshness,
        budgets: QuotaBudgets = QuotaBudgets(),
        node: String,
        metrics: LedgerMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.log = log
        self.projector = projector
        self.platforms = platforms
        self.sealer = sealer
        self.freshness = freshness
        self.budgets = budgets
        self.node = node
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// The platforms this refresher calls.
    public var platformNames: [String] { platforms.keys.sorted() }

    /// How long before expiry the platform of `stream` allows a renewal (nil: any time), for
    /// the scheduler's plan.
    public func renewalWindow(of stream: StreamID, options: [String: String]) -> Double? {
        platforms[stream.platform]?.renewalWindow(options: options)
    }

    /// Renews `stream` ahead of time (the scheduler): a no-op if its token stays fresh until `freshUntil`.
    public func scheduledRefresh(_ stream: StreamID, freshUntil: Date) async throws -> ServedToken {
        try await ensureFresh(stream, demand: .freshUntil(freshUntil), reason: .scheduled, context: CallContext(actor: "scheduler"))
    }

    /// Makes sure `stream` has a token meeting `demand`, refreshing it through the single flight.
    func ensureFresh(_ stream: StreamID, demand: RefreshDemand, reason: RefreshReason, context: CallContext) async throws -> ServedToken {
        let platform = try platform(of: stream)
        var served = try await flights.run(stream) {
            try await self.refreshUnderLock(stream, platform: platform, demand: demand, reason: reason, context: context)
        }
        // A joined flight may have had another demand (e.g. a miss refresh that started before our
        // forced one, or before the caller's token was reported bad).
        if demand.mayNeedOwnFlight, !served.stale,
            !demand.isSatisfied(by: projector.model.state(of: stream)?.token, of: stream, now: now(), freshness: freshness)
        {
            served = try await flights.run(stream) {
                try await self.refreshUnderLock(stream, platform: platform, demand: demand, reason: reason, context: context)
            }
        }
        return served
    }

    /// The platform of `stream`, or `unknownPlatform`.
    @discardableResult
    func platform(of stream: StreamID) throws -> any Platform {
        guard let platform = platforms[stream.platform] else {
            throw LedgerError(.unknownPlatform, "unknown platform '\(stream.platform)'; known: \(platformNames.joined(separator: ", "))")
        }
        return platform
    }

    /// The metadata of an event appended on behalf of `context`.
    func metadata(_ context: CallContext) -> EventMetadata {
        EventMetadata(node: node, requestID: context.requestID, actor: context.actor)
    }

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
        let outcome: Result<ServedToken, LedgerError>
        do {
            outcome = try await Self.mapStoreErrors {
                try await log.withRefreshLock(on: stream) { fence -> Result<ServedToken, LedgerError> in
                    self.metrics.lockWaited(seconds: Self.seconds(ContinuousClock.now - waitStarted))
                    // Someone else may have refreshed while we waited for the lock.
                    try await self.projector.catchUp()
                    let state = try self.usableState(of: stream)
                    if let token = state.token, demand.isSatisfied(by: token, of: stream, now: self.now(), freshness: self.freshness) {
                        return .success(ServedToken(token))
                    }
                    guard let secret = state.secret else {
                        throw LedgerError(.credentialsMissing, "no secret is registered for \(stream): pass ?secret= once, or declare the app in configuration")
                    }
                    // Decided here, against the log's count, so that every replica agrees; the
                    // refusal is recorded through the fence (a thrown error would undo it).
                    if reason == .forced, let refusal = try await self.refuseOverBudget(stream, state: state, context: context, fence: fence) {
                        return .failure(refusal)
                    }
                    return .success(
                        try await self.callPlatform(
                            platform, stream: stream, state: state, secret: secret, demand: demand, reason: reason, context: context,
                            fence: fence, fetched: fetched
                        )
                    )
                }
            }
        } catch let error as LedgerError where error.code == .lockLost {
            guard let token = fetched.value else { throw error }
            return try await settle(token, of: stream, reason: reason, context: context)
        }
        // The fenced append became visible when the lock was released.
        _ = try? await projector.catchUp()
        return try outcome.get()
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
        let token = try FetchedToken(issued, elapsed: elapsed, reason: reason, stream: stream, state: state, refresher: self, context: context)
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
}
