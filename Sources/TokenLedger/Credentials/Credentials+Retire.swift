extension Credentials {
    /// Invalidates the current token of `stream` (`token.revoked`, with `reason`): it is never
    /// served again, and the next read fetches a new one. Appended under the stream's refresh lock,
    /// so that it is ordered with refreshes. Returns the event's position, or nil when there was no
    /// token to revoke. Needs a caller allowed to change credentials.
    public func revokeToken(of stream: StreamID, reason: String, context: CallContext) async throws -> Int64? {
        try await retire(stream, context: context) { state, context in
            guard state.token != nil else { return nil }
            return try NewEvent(TokenRevoked(reason: String(reason.prefix(200))), metadata: self.refresher.metadata(context))
        }
    }

    /// Retires `stream` (`credentials.removed`): its secret and token are no longer served or
    /// renewed, until a secret is registered again. Returns the event's position, or nil when it
    /// was already removed. Needs a caller allowed to change credentials.
    public func remove(_ stream: StreamID, context: CallContext) async throws -> Int64? {
        try await retire(stream, context: context) { state, context in
            guard !state.removed else { return nil }
            return try NewEvent(CredentialsRemoved(), metadata: self.refresher.metadata(context))
        }
    }

    /// Appends what `event` makes of the stream's state (with the call's context, given a request
    /// id), under its refresh lock; nil when it makes nothing (nothing to do).
    private func retire(
        _ stream: StreamID, context: CallContext, _ event: @escaping @Sendable (StreamState, CallContext) throws -> NewEvent?
    ) async throws -> Int64? {
        try refresher.platform(of: stream)
        guard context.mayChangeCredentials else {
            throw LedgerError(.forbidden, "revoking the token or removing \(stream) needs an admin key")
        }
        let context = context.withRequestID()
        let position = try await Refresher.mapStoreErrors {
            try await refresher.log.withRefreshLock(on: stream) { fence -> Int64? in
                try await self.refresher.projector.catchUp()
                guard let state = self.refresher.projector.model.state(of: stream) else {
                    throw LedgerError(.credentialsMissing, "no secret is registered for \(stream)")
                }
                guard let next = try event(state, context) else { return nil }
                return try await fence.append([next], to: stream, expectedVersion: state.version).last?.position
            }
        }
        _ = try? await refresher.projector.catchUp()
        return position
    }
}
