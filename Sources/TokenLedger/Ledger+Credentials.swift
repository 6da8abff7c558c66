#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

extension Ledger {
    /// Tries new credentials with the platform before they replace working ones, under the
    /// stream's refresh lock: the secret and the token the platform gave for it are appended
    /// together through the lock's fence, or nothing is (the platform refused, or could not say).
    func registerVerified(secret: String, options: [String: String], for stream: StreamID, context: CallContext) async throws {
        let platform = try checkPlatform(stream)
        let fetched = FetchedToken.Slot()
        do {
            try await mapStoreErrors {
                try await log.withRefreshLock(on: stream) { fence in
                    try await self.projector.catchUp()
                    let state = try self.usableState(of: stream)
                    if Self.sameSecret(secret, state.secret), options == state.options { return }
                    guard context.mayChangeCredentials else {
                        throw LedgerError(.forbidden, "changing the secret of \(stream) needs an admin key")
                    }
                    let credentials = try NewEvent(
                        CredentialsSet(secret: try self.sealer.seal(secret, for: stream, as: .secret), options: options), metadata: self.metadata(context)
                    )
                    // Not forced: WeChat's stable token comes back unchanged, invalidating nothing.
                    let request = TokenRequest(
                        appid: stream.appid, secret: secret, options: options, replacing: nil, reason: .credentials,
                        refreshToken: options["refresh_token"] != nil || options["auth_code"] != nil ? nil : state.refreshToken
                    )
                    let issued: IssuedToken
                    let elapsed: Duration
                    do {
                        (issued, elapsed) = try await self.fetch(platform, request, stream: stream)
                    } catch let failure as PlatformError {
                        self.logger.warning(
                            "new credentials were not registered: the platform did not accept them",
                            metadata: [LogKey.stream: "\(stream)", LogKey.error: "\(failure)", LogKey.requestID: "\(context.requestID ?? "-")"]
                        )
                        throw LedgerError(
                            failure.code,
                            Self.callerMessage(for: failure, stream: stream) + "; the new secret was not registered, the previous one stays"
                        )
                    }
                    if issued.token == state.token?.value {
                        _ = try await fence.append([credentials], to: stream, expectedVersion: state.version)
                        return
                    }
                    let token = try FetchedToken(
                        issued, elapsed: elapsed, reason: .credentials, stream: stream, state: state, ledger: self, context: context,
                        preceding: [credentials]
                    )
                    fetched.value = token
                    _ = try await self.appendFenced(token.events, token: token, to: stream, fence: fence)
                }
            }
        } catch let error as LedgerError where error.code == .lockLost {
            guard let token = fetched.value else { throw error }
            _ = try await settle(token, of: stream, reason: .credentials, context: context)
        }
        _ = try? await projector.catchUp()
    }
}
