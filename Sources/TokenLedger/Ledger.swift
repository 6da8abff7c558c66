#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging

/// Serves tokens from the memory read model and refreshes them through the log, calling a
/// platform at most once per stream per refresh across every replica and reader.
public final class Ledger: Sendable {
    /// Tunables of the ledger.
    public struct Options: Sendable {
        /// The freshness policy (`refresh.early_seconds`).
        public var freshness: Freshness
        /// This replica's name, recorded with every event it appends.
        public var node: String
        /// How long a read waits for this replica to reach a position the caller has seen.
        public var readYourWritesTimeout: Duration

        /// Creates options.
        public init(freshness: Freshness = Freshness(), node: String, readYourWritesTimeout: Duration = .seconds(1)) {
            self.freshness = freshness
            self.node = node
            self.readYourWritesTimeout = readYourWritesTimeout
        }
    }

    /// The log.
    public let log: any EventLog
    /// The memory projector (and through it the memory model).
    public let projector: Projector
    /// The options.
    public let options: Options
    let platforms: [String: any Platform]
    /// The shared read models, fastest first, asked when memory cannot answer yet.
    let tiers: [any ReadModel]
    let tierMetrics: TierMetrics
    let sealer: Sealer
    let now: @Sendable () -> Date
    let logger: Logger
    /// The ledger's metrics.
    public let metrics: LedgerMetrics
    private let flights = RefreshFlights()

    /// Creates a ledger over a log, a projector, the platforms by name and a sealer.
    public init(
        log: any EventLog,
        projector: Projector,
        platforms: [String: any Platform],
        tiers: [any ReadModel] = [],
        sealer: Sealer,
        options: Options,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.log = log
        self.projector = projector
        self.platforms = platforms
        self.tiers = tiers
        self.tierMetrics = TierMetrics(tiers: tiers.map(\.name))
        self.sealer = sealer
        self.options = options
        self.logger = logger
        self.now = now
        self.metrics = projector.metrics
    }

    /// Reads this process answered from the shared read model `tier` (`redis`, `mysql`, `mongo`).
    public func reads(fromTier tier: String) -> Int { tierMetrics.count(tier) }

    /// Whether shared read models back the memory model (they answer while it catches up).
    public var hasSharedReadModels: Bool { !tiers.isEmpty }

    /// The platforms this ledger serves.
    public var platformNames: [String] { platforms.keys.sorted() }

    /// A fresh token for `stream` (`GET /token/...`). A `secret` that differs from the
    /// registered one is tried with the platform and registered if it works.
    public func token(for stream: StreamID, secret: String?, context: CallContext) async throws -> ServedToken {
        try checkPlatform(stream)
        let minPosition = await reach(context.minPosition)
        let state = projector.model.state(of: stream)
        if let state, let token = state.token, !state.removed, secret.map({ Self.sameSecret($0, state.secret) }) ?? true,
            options.freshness.isFresh(token, platform: stream.platform, now: now())
        {
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
                try await register(secret: secret, for: stream, context: context)
            }
            let reason: RefreshReason = projector.model.state(of: stream)?.token == nil ? .miss : .expired
            return try await ensureFresh(stream, demand: .fresh, reason: reason, context: context)
        } catch let error as LedgerError where error.code == .storeUnavailable || error.code == .lockLost {
            // The log is down: a token the platform still accepts is served as stale, exactly as
            // when the platform fails; only an expired or unknown one is an error.
            guard secret.map({ Self.sameSecret($0, state?.secret) }) ?? true, let token = state?.token, state?.removed == false,
                options.freshness.isStillValid(expiresAt: token.expiresAt, now: now())
            else { throw error }
            metrics.staleRead()
            return ServedToken(token, stale: true)
        }
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
        let caughtUp = await projector.catchUp(within: options.readYourWritesTimeout)
        return caughtUp ? min(position, projector.model.checkpoint) : position
    }

    /// Compares secrets in constant time (a caller's guess must not be timed against the real one).
    static func sameSecret(_ presented: String, _ registered: String?) -> Bool {
        guard let registered else { return false }
        let a = Array(presented.utf8)
        let b = Array(registered.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// A fresh token from the first shared read model that has applied the log up to `minPosition`
    /// and holds one; a model that fails is skipped (the next tier answers).
    func fromTiers(_ stream: StreamID, minPosition: Int64) async -> ServedToken? {
        for tier in tiers {
            do {
                let (row, checkpoint) = try await tier.row(of: stream)
                guard checkpoint >= minPosition, let row = row?.belonging(to: stream), let token = row.token, let expiresAt = row.expiresAt,
                    options.freshness.isFresh(expiresAt: expiresAt, platform: stream.platform, now: now())
                else { continue }
                tierMetrics.hit(tier.name)
                return ServedToken(token: token, expiresAt: expiresAt, position: row.position)
            } catch {
                logger.debug("read model unavailable, trying the next tier", metadata: ["readmodel": "\(tier.name)", LogKey.error: "\(error)"])
            }
        }
        return nil
    }

    /// Refreshes the token of `stream` (`PUT /token/...`). With `nowToken`, only if that is still
    /// the current token; otherwise the current one is returned untouched.
    public func refresh(_ stream: StreamID, secret: String?, nowToken: String?, context: CallContext) async throws -> ServedToken {
        try checkPlatform(stream)
        let context = context.withRequestID()
        let minPosition = await reach(context.minPosition)
        try rejectUnknown(stream, secret: secret, minPosition: minPosition)
        if let secret, !Self.sameSecret(secret, projector.model.state(of: stream)?.secret) {
            try await register(secret: secret, for: stream, context: context)
        }
        if let nowToken {
            return try await compareAndRefresh(stream, expected: nowToken, context: context)
        }
        // A token issued after what the caller (or this replica) has seen, within the log's head.
        let seen = max(projector.model.checkpoint, minPosition)
        return try await ensureFresh(stream, demand: .issuedAfter(seen), reason: .forced, context: context)
    }

    /// Refreshes only if `expected` is still the current token; otherwise returns the current one.
    public func compareAndRefresh(_ stream: StreamID, expected: String, context: CallContext) async throws -> ServedToken {
        let state = projector.model.state(of: stream)
        if let token = state?.token, token.value != expected,
            options.freshness.isFresh(token, platform: stream.platform, now: now())
        {
            return ServedToken(token)
        }
        return try await ensureFresh(stream, demand: .replacing(expected), reason: .compare, context: context)
    }

    /// Whether `secret` is the one registered for `stream` (a caller passing it registers nothing).
    public func isRegistered(secret: String, for stream: StreamID) -> Bool {
        Self.sameSecret(secret, projector.model.state(of: stream)?.secret)
    }

    /// Renews `stream` ahead of time (the scheduler): a no-op if its token stays fresh until `freshUntil`.
    public func scheduledRefresh(_ stream: StreamID, freshUntil: Date) async throws -> ServedToken {
        try await ensureFresh(stream, demand: .freshUntil(freshUntil), reason: .scheduled, context: CallContext(actor: "scheduler"))
    }

    /// Sets the secret and the platform options of `stream` exactly as given; returns the stream's
    /// version. With `verify` (the default) a change to working credentials is tried with the
    /// platform first; `verify: false` is for platforms that cannot be asked without a cost.
    public func setCredentials(
        _ stream: StreamID, secret: String, options platformOptions: [String: String], verify: Bool = true, context: CallContext
    ) async throws -> Int64 {
        try checkPlatform(stream)
        try await register(
            secret: secret, options: platformOptions, replacingOptions: true, verify: verify, for: stream, context: context.withRequestID()
        )
        return projector.model.state(of: stream)?.version ?? 0
    }

    /// Registers or rotates the secret of `stream` (`credentials.set`); does nothing if it is unchanged.
    ///
    /// Credentials that replace working ones are tried with the platform first, under the
    /// stream's refresh lock (`verify`): if the platform refuses them, the caller gets its error
    /// and the registered ones stay. Only a caller allowed to change credentials may append
    /// them, decided against the state the append is made on.
    public func register(
        secret: String,
        options platformOptions: [String: String] = [:],
        replacingOptions: Bool = false,
        resealing: Bool = false,
        verify: Bool = true,
        for stream: StreamID,
        context: CallContext
    ) async throws {
        guard !secret.isEmpty, secret.utf8.count <= 8192 else {
            throw LedgerError(.invalidInput, "secret must be 1 to 8192 bytes")
        }
        for attempt in 0..<3 {
            let state = projector.model.state(of: stream) ?? StreamState()
            let options = replacingOptions || !platformOptions.isEmpty ? platformOptions : state.options
            let changes = !Self.sameSecret(secret, state.secret) || options != state.options || state.removed
            let sealedWithCurrentKey = !resealing || (state.credentialsKeyID == sealer.currentKeyID && state.credentialsFieldBound)
            if !changes, sealedWithCurrentKey { return }
            if changes, !context.mayChangeCredentials {
                throw LedgerError(.forbidden, "changing the secret of \(stream) needs an admin key")
            }
            if changes, verify, state.secret != nil, !state.removed, !state.unreadable {
                return try await registerVerified(secret: secret, options: options, for: stream, context: context)
            }
            let payload = CredentialsSet(secret: try sealer.seal(secret, for: stream, as: .secret), options: options)
            do {
                _ = try await log.append([try NewEvent(payload, metadata: metadata(context))], to: stream, expectedVersion: state.version)
                try await projector.catchUp()
                return
            } catch let error as LedgerError where error.code == .versionConflict && attempt < 2 {
                try await projector.catchUp()
            }
        }
    }

    /// Key rotation: appends a `credentials.set` sealed with the current key for every live stream
    /// whose secret is sealed with an older one (the log stays append-only), so that once every
    /// stream holds a token issued after this, the old key can leave `secrets.previous_keys`.
    /// Returns the streams resealed, and those whose secret does not open with any key.
    public func resealCredentials(context: CallContext) async throws -> (resealed: [StreamID], unreadable: [StreamID]) {
        try await projector.catchUp()
        var resealed: [StreamID] = []
        var unreadable: [StreamID] = []
        for (stream, state) in projector.model.allStates().sorted(by: { $0.key.description < $1.key.description }) {
            guard !state.removed else { continue }
            guard let secret = state.secret, !state.unreadable else {
                if state.unreadable { unreadable.append(stream) }
                continue
            }
            // Sealed with the current key and bound to its field: nothing to do. A `v1` value (bound
            // to its stream only) is rewritten even under the current key.
            guard state.credentialsKeyID != sealer.currentKeyID || !state.credentialsFieldBound else { continue }
            try await register(secret: secret, options: state.options, replacingOptions: true, resealing: true, for: stream, context: context)
            resealed.append(stream)
        }
        return (resealed, unreadable)
    }

    /// The events of one stream, for audit.
    public func history(of stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await log.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    /// Makes sure `stream` has a token meeting `demand`, refreshing it through the single flight.
    func ensureFresh(_ stream: StreamID, demand: RefreshDemand, reason: RefreshReason, context: CallContext) async throws -> ServedToken {
        let platform = try checkPlatform(stream)
        var served = try await flights.run(stream) {
            try await self.refreshUnderLock(stream, platform: platform, demand: demand, reason: reason, context: context)
        }
        // A joined flight may have had another demand (e.g. a miss refresh that started before our
        // forced one, or before the caller's token was reported bad).
        if demand.mayNeedOwnFlight, !served.stale,
            !demand.isSatisfied(by: projector.model.state(of: stream)?.token, of: stream, now: now(), freshness: options.freshness)
        {
            served = try await flights.run(stream) {
                try await self.refreshUnderLock(stream, platform: platform, demand: demand, reason: reason, context: context)
            }
        }
        return served
    }

    @discardableResult
    func checkPlatform(_ stream: StreamID) throws -> any Platform {
        guard let platform = platforms[stream.platform] else {
            throw LedgerError(.unknownPlatform, "unknown platform '\(stream.platform)'; known: \(platformNames.joined(separator: ", "))")
        }
        return platform
    }

    func metadata(_ context: CallContext) -> EventMetadata {
        EventMetadata(node: options.node, requestID: context.requestID, actor: context.actor)
    }
}
