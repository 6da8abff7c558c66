#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging

/// Registers, rotates and reseals the credentials of streams (`credentials.set`): credentials
/// that replace working ones are tried with the platform first, under the stream's refresh lock,
/// and only a caller allowed to change credentials may append them.
public final class Credentials: Sendable {
    let refresher: Refresher
    let logger: Logger

    /// Creates the credentials part over the refresher that tries new credentials and records them.
    public init(refresher: Refresher, logger: Logger) {
        self.refresher = refresher
        self.logger = logger
    }

    private var projector: Projector { refresher.projector }
    private var sealer: Sealer { refresher.sealer }

    /// Sets the secret and the platform options of `stream` exactly as given; returns the stream's
    /// version. With `verify` (the default) a change to working credentials is tried with the
    /// platform first; `verify: false` is for platforms that cannot be asked without a cost.
    public func set(
        _ stream: StreamID, secret: String, options platformOptions: [String: String], verify: Bool = true, context: CallContext
    ) async throws -> Int64 {
        try refresher.platform(of: stream)
        try await register(secret: secret, .replace(options: platformOptions), verify: verify, for: stream, context: context.withRequestID())
        return projector.model.state(of: stream)?.version ?? 0
    }

    /// Registers or changes the secret of `stream` (`credentials.set`) as `change` says; does
    /// nothing if nothing would change.
    ///
    /// Credentials that replace working ones are tried with the platform first, under the
    /// stream's refresh lock (`verify`): if the platform refuses them, the caller gets its error
    /// and the registered ones stay. Only a caller allowed to change credentials may append
    /// them, decided against the state the append is made on.
    public func register(
        secret: String,
        _ change: CredentialChange = .register(options: [:]),
        verify: Bool = true,
        for stream: StreamID,
        context: CallContext
    ) async throws {
        guard !secret.isEmpty, secret.utf8.count <= 8192 else {
            throw LedgerError(.invalidInput, "secret must be 1 to 8192 bytes")
        }
        for attempt in 0..<3 {
            let state = projector.model.state(of: stream) ?? StreamState()
            let options = change.options(registered: state.options)
            try QuotaBudget.checkOptions(options)
            let changes = Self.changes(secret: secret, options: options, state)
            let sealedWithCurrentKey = !change.reseals || (state.credentialsKeyID == sealer.currentKeyID && state.credentialsFieldBound)
            if !changes, sealedWithCurrentKey { return }
            if changes, !context.mayChangeCredentials {
                throw LedgerError(.forbidden, "changing the secret of \(stream) needs an admin key")
            }
            if changes, verify, state.secret != nil, !state.removed, !state.unreadable {
                return try await registerVerified(secret: secret, options: options, for: stream, context: context)
            }
            let payload = CredentialsSet(secret: try sealer.seal(secret, for: stream, as: .secret), options: options)
            do {
                _ = try await refresher.log.append(
                    [try NewEvent(payload, metadata: refresher.metadata(context))], to: stream, expectedVersion: state.version
                )
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
    public func reseal(context: CallContext) async throws -> (resealed: [StreamID], unreadable: [StreamID]) {
        try await projector.catchUp()
        var due: [(stream: StreamID, secret: String, options: [String: String])] = []
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
            due.append((stream, secret, state.options))
        }
        // Several at once, so that the log commits their appends together (group commit).
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < due.count else { return }
                let (stream, secret, options) = due[next]
                next += 1
                group.addTask { try await self.register(secret: secret, .reseal(options: options), for: stream, context: context) }
            }
            for _ in 0..<Self.resealsAtOnce { start() }
            while try await group.next() != nil { start() }
        }
        return (due.map(\.stream), unreadable)
    }

    /// How many reseals are appended at once.
    static let resealsAtOnce = 16

    /// Whether registering `secret` as `change` says would append a `credentials.set` to `stream`
    /// as this replica's memory holds it (what a dry run reports).
    public func wouldChange(secret: String, _ change: CredentialChange, for stream: StreamID) -> Bool {
        let state = projector.model.state(of: stream) ?? StreamState()
        return Self.changes(secret: secret, options: change.options(registered: state.options), state)
    }

    /// Whether `secret` and `options` differ from what `state` holds (or the stream was removed).
    static func changes(secret: String, options: [String: String], _ state: StreamState) -> Bool {
        !sameSecret(secret, state.secret) || options != state.options || state.removed
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

    /// Tries new credentials with the platform before they replace working ones, under the
    /// stream's refresh lock: the secret and the token the platform gave for it are appended
    /// together through the lock's fence, or nothing is (the platform refused, or could not say).
    func registerVerified(secret: String, options: [String: String], for stream: StreamID, context: CallContext) async throws {
        let platform = try refresher.platform(of: stream)
        let fetched = FetchedToken.Slot()
        do {
            try await Refresher.mapStoreErrors {
                try await refresher.log.withRefreshLock(on: stream) { fence in
                    try await self.projector.catchUp()
                    let state = try self.refresher.usableState(of: stream)
                    if Self.sameSecret(secret, state.secret), options == state.options { return }
                    guard context.mayChangeCredentials else {
                        throw LedgerError(.forbidden, "changing the secret of \(stream) needs an admin key")
                    }
                    let credentials = try NewEvent(
                        CredentialsSet(secret: try self.sealer.seal(secret, for: stream, as: .secret), options: options), metadata: self.refresher.metadata(context)
                    )
                    // Not forced: WeChat's stable token comes back unchanged, invalidating nothing.
                    let request = TokenRequest(
                        appid: stream.appid, secret: secret, options: options, replacing: nil, reason: .credentials,
                        refreshToken: options["refresh_token"] != nil || options["auth_code"] != nil ? nil : state.refreshToken
                    )
                    let issued: IssuedToken
                    let elapsed: Duration
                    do {
                        (issued, elapsed) = try await self.refresher.fetch(platform, request, stream: stream)
                    } catch let failure as PlatformError {
                        self.logger.warning(
                            "new credentials were not registered: the platform did not accept them",
                            metadata: [LogKey.stream: "\(stream)", LogKey.error: "\(failure)", LogKey.requestID: "\(context.requestID ?? "-")"]
                        )
                        throw LedgerError(
                            failure.code,
                            failure.callerMessage(for: stream) + "; the new secret was not registered, the previous one stays"
                        )
                    }
                    if issued.token == state.token?.value {
                        _ = try await fence.append([credentials], to: stream, expectedVersion: state.version)
                        return
                    }
                    let token = try FetchedToken(
                        issued, elapsed: elapsed, reason: .credentials, stream: stream, state: state, refresher: self.refresher, context: context,
                        preceding: [credentials]
                    )
                    fetched.value = token
                    _ = try await self.refresher.appendFenced(token.events, token: token, to: stream, fence: fence)
                }
            }
        } catch let error as LedgerError where error.code == .lockLost {
            guard let token = fetched.value else { throw error }
            _ = try await refresher.settle(token, of: stream, reason: .credentials, context: context)
        }
        _ = try? await projector.catchUp()
    }
}
