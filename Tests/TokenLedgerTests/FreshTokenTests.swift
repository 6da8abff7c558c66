import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// A read answered from memory and kept by its caller: the answer `token(for:)` gives, until an
/// event is applied or the token reaches its freshness margin.
@Suite struct FreshTokenTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    @Test func aKeptReadHoldsUntilAnEventOrItsMargin() async throws {
        let platform = FakePlatform()
        let fixture = try LedgerFixture(platforms: ["wechat": platform])
        let reader = fixture.ledger.reader
        #expect(reader.freshToken(of: stream) == nil, "nothing known")
        let served = try await reader.token(for: stream, secret: "S", context: CallContext())
        let kept = try #require(reader.freshToken(of: stream))
        #expect(kept.served.token == served.token && kept.served.position == served.position && kept.stream == stream)
        #expect(reader.answersAgain(kept))
        // Not past a position memory has not applied.
        let checkpoint = fixture.ledger.projector.model.checkpoint
        #expect(reader.freshToken(of: stream, minPosition: checkpoint + 1) == nil)
        #expect(!reader.answersAgain(kept, minPosition: checkpoint + 1))

        // Just before the 300 s margin, then past it (the recorded expiry may be rounded).
        fixture.clock.advance(by: 7200 - 302)
        #expect(reader.answersAgain(kept))
        fixture.clock.advance(by: 3)
        #expect(!reader.answersAgain(kept) && reader.freshToken(of: stream) == nil)

        // A new token: the kept read no longer holds, a new one is the new token.
        let renewed = try await reader.token(for: stream, secret: nil, context: CallContext())
        #expect(renewed.token != served.token)
        let second = try #require(reader.freshToken(of: stream))
        #expect(second.served.token == renewed.token)
        // Any event applied makes a kept read be read again (another stream's too).
        let other = try StreamID(project: "p", platform: "wechat", appid: "wx2")
        _ = try await reader.token(for: other, secret: "S", context: CallContext())
        #expect(!reader.answersAgain(second))
        #expect(reader.freshToken(of: stream)?.served.token == renewed.token)
        // Revoked: nothing kept answers, nothing fresh in memory.
        let third = try #require(reader.freshToken(of: stream))
        _ = try await fixture.ledger.credentials.revokeToken(of: stream, reason: "test", context: CallContext())
        #expect(!reader.answersAgain(third) && reader.freshToken(of: stream) == nil)
    }
}
