import LedgerTestSupport
import Testing
import TokenLedger

/// Revoking a token and removing an app (`Credentials.revokeToken`, `Credentials.remove`): one
/// event each, under the stream's refresh lock, only for a caller allowed to change credentials.
@Suite struct RetireTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    @Test func aRevokedTokenIsNeverServedAgainAndTheNextReadFetchesOnce() async throws {
        let platform = FakePlatform()
        let fixture = try LedgerFixture(platforms: ["wechat": platform])
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        let first = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let calls = platform.calls
        var admin = CallContext(actor: "ops")
        admin.mayChangeCredentials = true
        #expect(try await fixture.ledger.credentials.revokeToken(of: stream, reason: "leaked", context: admin) != nil)
        #expect(try await fixture.ledger.credentials.revokeToken(of: stream, reason: "again", context: admin) == nil, "nothing left to revoke")
        let next = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(next.token != first.token)
        #expect(platform.calls == calls + 1)
        let revoked = try await fixture.log.read(stream: stream, afterVersion: 0, limit: 100).filter { $0.type == .tokenRevoked }
        #expect(try revoked.map { try $0.decode(TokenRevoked.self).reason } == ["leaked"])
    }

    @Test func aRemovedAppServesNothingUntilASecretIsSetAgainAndOnlyAnAdminMayRemoveIt() async throws {
        let platform = FakePlatform()
        let fixture = try LedgerFixture(platforms: ["wechat": platform])
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        var reader = CallContext(actor: "reader")
        reader.mayChangeCredentials = false
        await #expect(throws: LedgerError(.forbidden, "revoking the token or removing \(stream) needs an admin key")) {
            _ = try await fixture.ledger.credentials.remove(stream, context: reader)
        }
        #expect(try await fixture.ledger.credentials.remove(stream, context: CallContext()) != nil)
        #expect(try await fixture.ledger.credentials.remove(stream, context: CallContext()) == nil, "already removed")
        let calls = platform.calls
        do {
            _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
            Issue.record("a removed app was served")
        } catch let error as LedgerError {
            #expect(error.code == .appRemoved || error.code == .credentialsMissing)
        }
        #expect(platform.calls == calls, "nothing is fetched for a removed app")
        let unknown = try StreamID(project: "p", platform: "wechat", appid: "nobody")
        await #expect(throws: LedgerError.self) { _ = try await fixture.ledger.credentials.remove(unknown, context: CallContext()) }
        let back = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        #expect(!back.token.isEmpty, "setting the secret again brings the app back")
    }
}
