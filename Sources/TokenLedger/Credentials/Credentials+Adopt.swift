#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension Credentials {
    /// Carries over a token another service fetched and is still handing out (a migration from
    /// pighand-token): appends a `token.issued` with reason `imported` carrying `token` and
    /// `expiresAt`, so that readers are served the token in use and the scheduler renews it when it
    /// is due, not at once. No platform is called. Appended under the stream's refresh lock,
    /// through its fence, and only as `TokenAdoption.decide` says against the state it is appended
    /// on: a second import, or an older token, appends nothing. The stream must have a secret;
    /// needs a caller allowed to change credentials.
    public func adopt(token: String, expiresAt: Date, for stream: StreamID, context: CallContext) async throws -> TokenAdoption {
        try refresher.platform(of: stream)
        guard context.mayChangeCredentials else {
            throw LedgerError(.forbidden, "carrying a token over to \(stream) needs an admin key")
        }
        guard !token.isEmpty, token.utf8.count <= 65536 else {
            throw LedgerError(.invalidInput, "a carried-over token must be 1 to 65536 bytes")
        }
        let context = context.withRequestID()
        let outcome = try await Refresher.mapStoreErrors {
            try await refresher.log.withRefreshLock(on: stream) { fence -> TokenAdoption in
                try await self.refresher.projector.catchUp()
                guard let state = self.refresher.projector.model.state(of: stream), state.secret != nil, !state.removed else {
                    throw LedgerError(.credentialsMissing, "no secret is registered for \(stream)")
                }
                let decision = TokenAdoption.decide(token: token, expiresAt: expiresAt, state: state, now: self.refresher.now())
                guard decision == .recorded else { return decision }
                let payload = TokenIssued(
                    token: try self.refresher.sealer.seal(token, for: stream, as: .token), expiresAt: expiresAt, reason: .imported, upstreamLatencyMs: 0
                )
                _ = try await fence.append([try NewEvent(payload, metadata: self.refresher.metadata(context))], to: stream, expectedVersion: state.version)
                return .recorded
            }
        }
        _ = try? await refresher.projector.catchUp()
        return outcome
    }
}
