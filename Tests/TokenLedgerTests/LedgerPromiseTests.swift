import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// The ledger's promises under partial failure and hostile input, in-process: the in-memory log,
/// a fake platform, a clock the test moves. Each would have failed before its fix.
@Suite struct LedgerPromiseTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    func fixture(_ platform: FakePlatform, log: any EventLog = InMemoryEventLog(), freshness: Freshness = Freshness()) throws -> LedgerFixture {
        try LedgerFixture(log: log, platforms: ["wechat": platform], freshness: freshness)
    }

    func events(_ fixture: LedgerFixture, _ type: EventType) async throws -> [RecordedEvent] {
        try await fixture.log.read(stream: stream, afterVersion: 0, limit: 100).filter { $0.type == type }
    }

    /// Another replica's token, appended behind this ledger's back while its platform call is in
    /// flight: what happens when this replica's lock was lost and another refreshed meanwhile.
    func appendForeignToken(_ value: String, fixture: LedgerFixture) async throws {
        let head = try await fixture.log.read(stream: stream, afterVersion: 0, limit: 100).last?.version ?? 0
        let payload = TokenIssued(
            token: try fixture.sealer.seal(value, for: stream, as: .token), expiresAt: fixture.clock.now.addingTimeInterval(7200),
            reason: .miss, upstreamLatencyMs: 1
        )
        _ = try await fixture.log.append([try NewEvent(payload, metadata: EventMetadata(node: "other"))], to: stream, expectedVersion: head)
    }

    @Test func aTokenFetchedWhileAnotherWasIssuedIsRecordedAsSupersededNeverMadeCurrent() async throws {
        let platform = FakePlatform()
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        platform.setDuringCall { try? await appendForeignToken("OTHER", fixture: fixture) }
        let served = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(served.token == "OTHER", "the token issued meanwhile stays current")
        #expect(fixture.ledger.projector.model.state(of: stream)?.token?.value == "OTHER")
        let issued = try await events(fixture, .tokenIssued)
        #expect(issued.count == 1, "the fetched token was not re-appended over the newer one")
        let failures = try await events(fixture, .refreshFailed).map { try $0.decode(RefreshFailed.self) }
        #expect(failures.map(\.code) == [RefreshFailed.superseded])
        #expect(fixture.ledger.projector.model.state(of: stream)?.lastFailure == nil, "a superseded fetch is no failure of the app")
    }

    @Test func aTokenFetchedWhileOnlyCredentialsChangedStillBecomesCurrent() async throws {
        let platform = FakePlatform()
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        platform.setDuringCall {
            // Options set behind the ledger's back (no verification): no token was issued.
            let payload = CredentialsSet(secret: try! fixture.sealer.seal("S", for: stream, as: .secret), options: ["mode": "stable"])
            _ = try? await fixture.log.append([try! NewEvent(payload, metadata: EventMetadata(node: "other"))], to: stream, expectedVersion: 1)
        }
        let served = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(served.token == "T1")
        #expect(fixture.ledger.projector.model.state(of: stream)?.token?.value == "T1")
        #expect(try await events(fixture, .tokenIssued).count == 1)
    }

    @Test func aPositionBeyondTheLogsHeadIsClampedAndAPutRefreshesOnce() async throws {
        let platform = FakePlatform()
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(platform.calls == 1)
        let started = ContinuousClock.now
        let served = try await fixture.ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext(minPosition: .max))
        #expect(platform.calls == 2, "one upstream refresh for one PUT, whatever position the caller claims")
        #expect(served.token == "T2")
        #expect(ContinuousClock.now - started < .milliseconds(500), "no waiting for a position that will never come")
        let read = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext(minPosition: .max))
        #expect(read.token == "T2")
        #expect(platform.calls == 2)
    }

    @Test func unknownAppsAreAnsweredFromMemoryWithoutTouchingTheLog() async throws {
        let log = FaultyLog(InMemoryEventLog())
        let fixture = try fixture(FakePlatform(), log: log)
        try await fixture.ledger.projector.catchUp()
        let before = log.calls
        for index in 0..<200 {
            let unknown = try StreamID(project: "p", platform: "wechat", appid: "nobody\(index)")
            await #expect(throws: LedgerError(.credentialsMissing, "no secret is registered for \(unknown): pass ?secret= once, or declare the app in configuration")) {
                _ = try await fixture.ledger.reader.token(for: unknown, secret: nil, context: CallContext())
            }
        }
        #expect(log.calls == before, "200 unknown apps cost no query of the log")
    }

    @Test func aValidTokenInsideTheMarginIsServedStaleWhileTheLogIsDown() async throws {
        let log = FaultyLog(InMemoryEventLog())
        let fixture = try fixture(FakePlatform(expiresIn: 7200), log: log)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        let first = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        fixture.clock.advance(by: 7000)  // inside the 300 s margin, not expired
        log.isDown = true
        let stale = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(stale.token == first.token)
        #expect(stale.stale)
        fixture.clock.advance(by: 300)  // expired
        await #expect(throws: LedgerError.self) { _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()) }
        log.isDown = false
        let renewed = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(renewed.token == "T2" && !renewed.stale)
    }

    @Test func aShortLivedTokenIsFetchedOncePerLifeNotOnEveryRead() async throws {
        let platform = FakePlatform(expiresIn: 300)
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        var tokens: Set<String> = []
        for _ in 0..<5 {
            tokens.insert(try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token)
            fixture.clock.advance(by: 30)
        }
        #expect(platform.calls == 1, "five reads within the token's fresh life: one upstream call")
        #expect(tokens.count == 1)
    }

    @Test func aNewSecretThePlatformRefusesIsNotRegisteredAndTheWorkingOneStays() async throws {
        let platform = FakePlatform()
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        let first = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let versionBefore = fixture.ledger.projector.model.state(of: stream)?.version
        do {
            _ = try await fixture.ledger.reader.token(for: stream, secret: "WRONG", context: CallContext())
            Issue.record("a refused secret must not be accepted")
        } catch let error as LedgerError {
            #expect(error.code == .upstreamRejectedCredentials)
        }
        #expect(fixture.ledger.reader.isRegistered(secret: "S", for: stream))
        #expect(fixture.ledger.projector.model.state(of: stream)?.version == versionBefore, "nothing was appended")
        #expect(try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token == first.token)
        // A secret the platform accepts is registered together with the token it gave.
        platform.setSecret("S2")
        let rotated = try await fixture.ledger.reader.token(for: stream, secret: "S2", context: CallContext())
        #expect(fixture.ledger.reader.isRegistered(secret: "S2", for: stream))
        #expect(rotated.token == fixture.ledger.projector.model.state(of: stream)?.token?.value)
        let reasons = try await events(fixture, .tokenIssued).map { try $0.decode(TokenIssued.self).reason }
        #expect(reasons == [.miss, .credentials])
    }

    @Test func onlyACallerAllowedToChangeCredentialsMayChangeThemEvenAfterWaiting() async throws {
        let platform = FakePlatform()
        let fixture = try fixture(platform)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        _ = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext(mayChangeCredentials: false))
        platform.setSecret("NEW")
        await #expect(throws: LedgerError(.forbidden, "changing the secret of \(stream) needs an admin key")) {
            _ = try await fixture.ledger.reader.token(for: stream, secret: "NEW", context: CallContext(mayChangeCredentials: false))
        }
        await #expect(throws: LedgerError.self) {
            _ = try await fixture.ledger.reader.refresh(stream, secret: "NEW", nowToken: nil, context: CallContext(mayChangeCredentials: false))
        }
        #expect(fixture.ledger.reader.isRegistered(secret: "S", for: stream))
        #expect(try await events(fixture, .credentialsSet).count == 1)
    }

    @Test func theEmbeddedLogKeepsNoLockStateForStreamsNoLongerRefreshing() async throws {
        let log = InMemoryEventLog()
        let fixture = try fixture(FakePlatform(), log: log)
        for index in 0..<50 {
            let app = try StreamID(project: "p", platform: "wechat", appid: "wx\(index)")
            try await fixture.ledger.credentials.register(secret: "S", for: app, context: CallContext())
            _ = try await fixture.ledger.reader.token(for: app, secret: nil, context: CallContext())
        }
        #expect(log.heldRefreshLocks == 0)
    }
}

/// Key rotation's reseal also rewrites secrets sealed before fields were bound, so that a value
/// bound only to its stream cannot outlive the rotation.
@Suite struct ResealTests {
    @Test func aResealRewritesSecretsSealedBeforeFieldsWereBoundEvenUnderTheCurrentKey() async throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k1", keys: ["k1": SealerTests.oldKey])
        let fixture = try LedgerFixture(platforms: ["wechat": FakePlatform(secret: "old-secret")], sealer: sealer)
        let old = CredentialsSet(secret: SealerTests.oldSecret, options: [:])
        _ = try await fixture.log.append([try NewEvent(old, metadata: EventMetadata(node: "old"))], to: stream, expectedVersion: 0)
        let (resealed, unreadable) = try await fixture.ledger.credentials.reseal(context: CallContext(actor: "rotate-key"))
        #expect(resealed == [stream])
        #expect(unreadable.isEmpty)
        let last = try #require(try await fixture.log.read(stream: stream, afterVersion: 0, limit: 10).last)
        let secret = try last.decode(CredentialsSet.self).secret
        #expect(secret.isFieldBound)
        #expect(try sealer.open(secret, for: stream, as: .secret) == "old-secret")
        #expect(try await fixture.ledger.credentials.reseal(context: CallContext()).resealed.isEmpty, "a second reseal has nothing to do")
    }
}
