#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging

/// Answers token reads: from the memory read model when it holds a fresh token, then from the
/// shared read models (tiers) while memory catches up, then through the `Refresher`; serves a
/// still-valid token as stale when the log is down.
public final class TokenReader: Sendable {
    let projector: Projector
    /// The shared read models, fastest first, asked when memory cannot answer yet.
    let tiers: [any ReadModel]
    let tierMetrics: TierMetrics
    let refresher: Refresher
    let credentials: Credentials
    let freshness: Freshness
    let readYourWritesTimeout: Duration
    let renewalPolicy: RefreshPlan.Policy?
    let metrics: LedgerMetrics
    let logger: Logger
    let now: @Sendable () -> Date

    /// Creates a reader over `projector`'s memory model and the shared read models `tiers`
    /// (fastest first), refreshing through `refresher` and registering a passed secret through
    /// `credentials`; a read waits up to `readYourWritesTimeout` for a position its caller has seen.
    /// `renewalPolicy` (the scheduler's, when one runs) lets a stream's status tell its next renewal.
    public init(
        projector: Projector,
        tiers: [any ReadModel] = [],
        refresher: Refresher,
        credentials: Credentials,
        freshness: Freshness,
        readYourWritesTimeout: Duration,
        renewalPolicy: RefreshPlan.Policy? = nil,
        metrics: LedgerMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.projector = projector
        self.tiers = tiers
        self.tierMetrics = TierMetrics(tiers: tiers.map(\.name))
        self.refresher = refresher
        self.credentials = credentials
        self.freshness = freshness
        self.readYourWritesTimeout = readYourWritesTimeout
        self.renewalPolicy = renewalPolicy
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Reads this process answered from the shared read model `tier` (`redis`, `mysql`, `mongo`).
    public func reads(fromTier tier: String) -> Int { tierMetrics.count(tier) }

    /// Whether shared read models back the memory model (they answer while it catches up).
    public var hasSharedReadModels: Bool { !tiers.isEmpty }

    /// A fresh token for `stream` (`GET /token/...`). A `secret` that differs from the
    /// registered one is tried with the platform and registered if it works.
    public func token(for stream: StreamID, secret: String?, context: CallContext) async throws -> ServedToken {
        try refresher.platform(of: stream)
        let minPosition = await reach(context.minPosition)
        let state = projector.model.state(of: stream)
        if let token = freshInMemory(state, stream: stream, secret: secret, now: now()) {
            metrics.memoryHit()
            return ServedToken(token)
        }
        // Memory still catching up (a restart) or behind the caller: a shared model may be ahead.
        if !tiers.isEmpty, !projector.isReady || projector.model.checkpoint < minPosition,
            let served = await fromTiers(stream, minPosition: max(minPosition, projector.model.checkpoint))
        {
            return served
        }
        try rejectUnknown(stream, secret: secret, minPosition: minPosition)
        metrics.refreshedRead()
        let context = context.withRequestID()
        do {
            if let secret {
                try await credentials.register(secret: secret, for: stream, context: context)
            }
            let reason: RefreshReason = projector.model.state(of: stream)?.token == nil ? .miss : .expired
            return try await refresher.ensureFresh(stream, demand: .fresh, reason: reason, context: context)
        } catch let error as LedgerError where error.code == .storeUnavailable || error.code == .lockLost {
            // The log is down: a token the platform still accepts is served as stale, exactly as
            // when the platform fails; only an expired or unknown one is an error.
            guard secret.map({ Credentials.sameSecret($0, state?.secret) }) ?? true, let token = state?.token, state?.removed == false,
                freshness.isStillValid(expiresAt: token.expiresAt, now: now())
            else { throw error }
            metrics.staleRead()
            return ServedToken(token, stale: true)
        }
    }

    /// The token memory serves as fresh from `state` of `stream` to a caller passing `secret` at
    /// `now`, or nil: the one decision of a read answered from memory (`freshToken(of:)` too).
    func freshInMemory(_ state: StreamState?, stream: StreamID, secret: String?, now: Date) -> CurrentToken? {
        guard let state, let token = state.token, !state.removed, secret.map({ Credentials.sameSecret($0, state.secret) }) ?? true,
            freshness.isFresh(token, platform: stream.platform, now: now)
        else { return nil }
        return token
    }

    /// Refreshes the token of `stream` (`PUT /token/...`). With `nowToken`, only if that is still
    /// the current token; otherwise the current one is returned untouched.
    public func refresh(_ stream: StreamID, secret: String?, nowToken: String?, context: CallContext) async throws -> ServedToken {
        try refresher.platform(of: stream)
        let context = context.withRequestID()
        let minPosition = await reach(context.minPosition)
        try rejectUnknown(stream, secret: secret, minPosition: minPosition)
        if let secret, !Credentials.sameSecret(secret, projector.model.state(of: stream)?.secret) {
            try await credentials.register(secret: secret, for: stream, context: context)
        }
        if let nowToken {
            return try await compareAndRefresh(stream, expected: nowToken, context: context)
        }
        // A token issued after what the caller (or this replica) has seen, within the log's head.
        let seen = max(projector.model.checkpoint, minPosition)
        return try await refresher.ensureFresh(stream, demand: .issuedAfter(seen), reason: .forced, context: context)
    }

    /// Refreshes only if `expected` is still the current token; otherwise returns the current one.
    public func compareAndRefresh(_ stream: StreamID, expected: String, context: CallContext) async throws -> ServedToken {
        let state = projector.model.state(of: stream)
        if let token = state?.token, token.value != expected,
            freshness.isFresh(token, platform: stream.platform, now: now())
        {
            return ServedToken(token)
        }
        return try await refresher.ensureFresh(stream, demand: .replacing(expected), reason: .compare, context: context)
    }

    /// Whether `secret` is the one registered for `stream` (a caller passing it registers nothing).
    public func isRegistered(secret: String, for stream: StreamID) -> Bool {
        Credentials.sameSecret(secret, projector.model.state(of: stream)?.secret)
    }

    /// Answers from memory, without touching the log, that an app nobody registered has no
    /// secret: a flood of requests for random ids costs nothing shared.
    func rejectUnknown(_ stream: StreamID, secret: String?, minPosition: Int64) throws {
        guard secret == nil, projector.isReady, minPosition <= projector.model.checkpoint,
            projector.model.state(of: stream) == nil
        else { return }
        throw LedgerError(.credentialsMissing, "no secret is registered for \(stream): pass ?secret= once, or declare the app in configuration")
    }

    /// The position a caller has seen, once this replica has caught up to it. Positions are
    /// handed out only once committed, so one catch-up reaches any real one; a position beyond
    /// the log's head (a caller's mistake or an attack) is clamped to it, never waited for.
    func reach(_ position: Int64) async -> Int64 {
        guard position > projector.model.checkpoint else { return position }
        let caughtUp = await projector.catchUp(within: readYourWritesTimeout)
        return caughtUp ? min(position, projector.model.checkpoint) : position
    }

    /// A fresh token from the first shared read model that has applied the log up to `minPosition`
    /// and holds one; a model that fails is skipped (the next tier answers).
    func fromTiers(_ stream: StreamID, minPosition: Int64) async -> ServedToken? {
        for tier in tiers {
            do {
                let (row, checkpoint) = try await tier.row(of: stream)
                guard checkpoint >= minPosition, let row = row?.belonging(to: stream), let token = row.token, let expiresAt = row.expiresAt,
                    freshness.isFresh(expiresAt: expiresAt, platform: stream.platform, now: now())
                else { continue }
                tierMetrics.hit(tier.name)
                return ServedToken(token: token, expiresAt: expiresAt, position: row.position)
            } catch {
                logger.debug("read model unavailable, trying the next tier", metadata: ["readmodel": "\(tier.name)", LogKey.error: "\(LedgerError.explain(error))"])
            }
        }
        return nil
    }
}
